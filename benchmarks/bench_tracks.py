"""Identity tracks with and without the shot-cut gate, same run (issue: cuts join two people).

Two measurements on real clips, each ingest run twice per video, alternately, in one process:
``off`` (``track_cut_scene_change=inf``: the tracker before the gate, and no shot-cut cues
computed) and ``on`` (the defaults of :class:`~difffake_core.faces.tracks.TrackParams`).

* **continuous clips** (every real clip of ``data/dev`` and ``data/dev2`` by default): tracks
  with a usable face per clip, off -> on, and the same-track pairs they allow
  (``sum n_k (n_k - 1) / 2`` over tracks of ``n_k`` usable faces). A gate that fragments a
  continuous shot shows up as more tracks and fewer pairs. Also the face-stage time, on / off.
* **synthetic cuts**: ``--cuts N`` ordered pairs of two different real clips (seeded sample),
  100 frames of the first then 100 of the second scaled to its size (one hard cut); a pair
  is *mixed* when one track holds faces from both sides of the cut.

Run: ``python -m benchmarks.bench_tracks [--clips DIR ...] [--cuts 40] [--frames 32]``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.ingest import IngestParams, VideoFaces, process_video

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_CLIPS = (SHARED_DATA / "dev" / "real", SHARED_DATA / "dev2" / "real")
CUT_FRAMES = 100  # frames of each clip in a synthetic cut (fewer when a clip is shorter)


def gate_params(frames: int = 32) -> dict[str, IngestParams]:
    on = IngestParams(n_frames=frames, crop_size=96)
    return {"off": replace(on, track_cut_scene_change=float("inf")), "on": on}


def usable_tracks(vf: VideoFaces) -> dict[int, list[int]]:
    """``{track_id: [frame_index, ...]}`` of the usable (``ok``) sampled faces."""
    out: dict[int, list[int]] = {}
    for r in vf.sampled_rows:
        if r.status == "ok":
            out.setdefault(r.track_id, []).append(r.frame_index)
    return out


@dataclass
class ClipTracks:
    name: str
    tracks: dict[str, int]  # mode -> tracks with a usable face
    pairs: dict[str, int]  # mode -> same-track pairs of usable faces
    seconds: dict[str, float]  # mode -> face-stage seconds


def count_tracks(paths: list[Path], analyzer: FaceAnalyzer, frames: int = 32) -> list[ClipTracks]:
    """Tracks per clip with the gate off and on (see the module docstring)."""
    out = []
    for i, path in enumerate(paths):
        row = ClipTracks(Path(path).stem, {}, {}, {})
        modes = list(gate_params(frames).items())
        for mode, params in modes if i % 2 == 0 else modes[::-1]:  # alternate the order
            vf = process_video(str(path), params, analyzer)
            tracks = usable_tracks(vf)
            row.tracks[mode] = len(tracks)
            row.pairs[mode] = sum(len(v) * (len(v) - 1) // 2 for v in tracks.values())
            row.seconds[mode] = vf.seconds.get("faces", 0.0)
        out.append(row)
    return out


def cut_pairs(paths: list[Path], n: int, seed: int = 0) -> list[tuple[Path, Path]]:
    """``n`` ordered pairs of different clips (a seeded sample of all ordered pairs)."""
    every = list(itertools.permutations(sorted(paths), 2))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(every), size=min(n, len(every)), replace=False)
    return [every[k] for k in sorted(pick)]


def mixed_at_cut(vf: VideoFaces, cut_frame: int) -> bool:
    """Whether one track holds usable faces on both sides of ``cut_frame``."""
    return any(
        min(f) < cut_frame <= max(f) for f in usable_tracks(vf).values()
    )  # fmt: skip


def synthetic_cuts(
    pairs: list[tuple[Path, Path]], analyzer: FaceAnalyzer, folder: Path, frames: int = 32
) -> list[dict]:
    """Per joined pair: mixed (off / on) and the track counts."""
    from tests.support.media import join_clips

    out = []
    for i, (a, b) in enumerate(pairs):
        path, cut = join_clips(a, b, folder / f"cut{i}.mp4", CUT_FRAMES)
        row = {"first": Path(a).stem, "second": Path(b).stem}
        for mode, params in gate_params(frames).items():
            vf = process_video(str(path), params, analyzer)
            row[f"mixed_{mode}"] = mixed_at_cut(vf, cut)
            row[f"tracks_{mode}"] = len(usable_tracks(vf))
        out.append(row)
        path.unlink()
    return out


def clip_paths(folders) -> list[Path]:
    return sorted(p for f in folders if Path(f).is_dir() for p in Path(f).glob("*.mp4"))


def report_tracks(rows: list[ClipTracks]) -> None:
    print(f"{'clip':48s} tracks off -> on   pairs off -> on")
    for r in rows:
        mark = "  *" if r.tracks["on"] != r.tracks["off"] else ""
        print(
            f"{r.name[:48]:48s} {r.tracks['off']:4d} -> {r.tracks['on']:<4d}"
            f"   {r.pairs['off']:5d} -> {r.pairs['on']:<5d}{mark}"
        )
    t = {m: sum(r.tracks[m] for r in rows) for m in ("off", "on")}
    p = {m: sum(r.pairs[m] for r in rows) for m in ("off", "on")}
    s = {m: sum(r.seconds[m] for r in rows) for m in ("off", "on")}
    grown = sum(r.tracks["on"] > r.tracks["off"] for r in rows)
    print(
        f"{len(rows)} clips: tracks {t['off']} -> {t['on']} ({grown} clips grew), pairs "
        f"{p['off']} -> {p['on']} ({p['on'] / max(p['off'], 1):.3f}x); face stage "
        f"{s['off']:.1f}s -> {s['on']:.1f}s ({s['on'] / max(s['off'], 1e-9):.3f}x, same run)"
    )


def run(clips=DEFAULT_CLIPS, cuts: int = 40, frames: int = 32) -> None:
    from difffake_core.faces.assets import resolve_face_model

    paths = clip_paths(clips)
    if not paths:
        print(f"no clips under {[str(c) for c in clips]}; nothing to measure")
        return
    with FaceAnalyzer(str(resolve_face_model(download=False))) as analyzer:
        t0 = time.perf_counter()
        report_tracks(count_tracks(paths, analyzer, frames))
        print(f"({time.perf_counter() - t0:.0f}s)")
        if cuts:
            with tempfile.TemporaryDirectory(prefix="bench-cuts-") as tmp:
                rows = synthetic_cuts(cut_pairs(paths, cuts), analyzer, Path(tmp), frames)
            for r in rows:
                print(
                    f"cut {r['first'][:30]:30s} | {r['second'][:30]:30s} mixed "
                    f"{int(r['mixed_off'])} -> {int(r['mixed_on'])}  tracks "
                    f"{r['tracks_off']} -> {r['tracks_on']}"
                )
            off = sum(r["mixed_off"] for r in rows)
            on = sum(r["mixed_on"] for r in rows)
            print(f"{len(rows)} synthetic cuts: mixed tracks {off} -> {on}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", nargs="*", default=[str(c) for c in DEFAULT_CLIPS])
    ap.add_argument("--cuts", type=int, default=40)
    ap.add_argument("--frames", type=int, default=32)
    args = ap.parse_args()
    run(args.clips, args.cuts, args.frames)


if __name__ == "__main__":
    from tasks import _env  # noqa: F401

    main()
