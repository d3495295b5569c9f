"""What isolating the per-video native work costs: the face stage of the same clips run in
the calling thread (baseline) and in an :class:`~difffake_core.isolation.IsolatedWorker`.

``python -m benchmarks.bench_isolation [N_CLIPS] [FRAMES]``: prints the one-time start of the
worker (spawn, imports, MediaPipe graph) and the per-video ratio isolated / in-process.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tasks import _env  # noqa: F401


def run(n_clips: int = 6, n_frames: int = 32, rounds: int = 2) -> dict[str, float]:
    from difffake_core.faces.analyzer import FaceAnalyzer
    from difffake_core.ingest import IngestParams, process_video
    from difffake_core.isolation import IsolatedWorker, face_stage_in_child, isolated_face_stage
    from flows.demo_corpus import write_video
    from tests.support.media import astronaut, moving_frames

    params = IngestParams(n_frames=n_frames)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i in range(n_clips):
            path = Path(tmp) / f"clip{i}.mp4"
            write_video(path, moving_frames(astronaut(), 60, seed=i), 25, 23, "libx264", False)
            clips.append(str(path))
        analyzer = FaceAnalyzer(None, **params.analyzer_kwargs())
        worker = IsolatedWorker()
        try:
            process_video(clips[0], params, analyzer)  # warm up
            t0 = time.perf_counter()
            worker.call(face_stage_in_child, clips[0], params, None)
            first = time.perf_counter() - t0
            base, iso, t_base, t_iso = [], [], [], []
            for _ in range(rounds):  # interleaved, so load drifts hit both alike
                for c in clips:
                    t0 = time.perf_counter()
                    base.append(process_video(c, params, analyzer))
                    t_base.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    iso.append(isolated_face_stage(worker, c, params, None))
                    t_iso.append(time.perf_counter() - t0)
        finally:
            analyzer.close()
            worker.close()
        inproc, isolated = float(np.median(t_base)), float(np.median(t_iso))
    assert [v.frames_with_face for v in iso] == [v.frames_with_face for v in base]
    out = {"in_process_s_per_video": inproc, "isolated_s_per_video": isolated,
           "ratio": isolated / inproc, "worker_start_plus_first_video_s": first}  # fmt: skip
    print(f"face stage, {n_clips} clips x {n_frames} frames (320x240):")
    print(f"  in-process  {inproc:.3f} s/video (median, baseline)")
    print(f"  isolated    {isolated:.3f} s/video  ratio {isolated / inproc:.3f}")
    print(f"  worker start + first video {first:.2f} s (once per worker thread)")
    return out


if __name__ == "__main__":
    run(*(int(a) for a in sys.argv[1:3]))
