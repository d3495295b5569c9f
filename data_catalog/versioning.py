"""The code version recorded in every manifest: package version plus git commit when known."""

from __future__ import annotations

import functools
import os
import subprocess

import difffake_core


@functools.cache
def code_version() -> str:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = "unknown"
    try:
        out = subprocess.run(
            ["git", "-C", here, "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0:
            commit = out.stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=5,
            )
            if dirty.returncode == 0 and dirty.stdout.strip():
                commit += "-dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"difffake {difffake_core.__version__} ({commit})"
