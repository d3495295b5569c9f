"""One Status enum: every error's status, face status and the README table come from it."""

import re
from pathlib import Path

import difffake_core.errors as errors
from difffake_core.faces.quality import FACE_STATUSES
from difffake_core.scoring import STATUS_OK, STATUS_TOO_FEW_PAIRS
from difffake_core.status import DESCRIPTIONS, Status, status_table

ROOT = Path(__file__).resolve().parents[2]


def test_every_media_error_status_and_face_status_is_a_member():
    media = [c for c in vars(errors).values() if isinstance(c, type) and hasattr(c, "status")]
    assert media and all(c.status in set(Status) for c in media)
    assert set(FACE_STATUSES) <= set(Status)
    assert {STATUS_OK, STATUS_TOO_FEW_PAIRS} <= set(Status)
    assert set(DESCRIPTIONS) == set(Status)


def test_statuses_store_as_their_plain_values():
    assert Status.TOO_FEW_PAIRS == "too_few_pairs" and f"{Status.OK}" == "ok"


def test_readme_status_table_is_the_enum():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- status-table:start -->\n(.*?)\n<!-- status-table:end -->", text, re.S)
    assert block is not None and block.group(1) == status_table()


def test_tasks_compare_statuses_through_the_enum():
    pattern = re.compile(r"status[\"'\]]*\s*[!=]=\s*[\"']")
    offenders = [
        f"{p.name}:{i}"
        for p in sorted((ROOT / "tasks").glob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
