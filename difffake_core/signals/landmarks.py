"""Signal ``landmark_dynamics``: how a face track's 68 landmarks move, against real tracks.

Cheap (no embeddings) and aimed at generated talking heads, whose heads, eyes and mouths
move in ways real people do not (too still, too smooth, mouth decoupled from the head).

Per sampled frame (landmarks in frame pixels): eye centres, inter-ocular distance ``iod``,
face centre, roll (eye line), the shape aligned to an upright, unit-``iod`` frame, a yaw and a
pitch proxy (nose tip against the eyes and mouth), the mouth opening and the eye aspect ratio.
Every length is in units of the track's median ``iod`` and every rate is per **second**
(timestamps, or frame indices over ``fps``), so faces of any size and videos of any frame
rate are comparable. Per track, :data:`FEATURES` (log rates, spreads, couplings, and with
neighbour rows a jitter index: observed one-frame change over what the smooth sampled motion
predicts). A feature that cannot be computed (too few frames, no neighbours) is neutral (the
real mean). The anomaly model (default a single full-covariance Gaussian, regularised) is
fitted on standardised features of real tracks.
"""

from __future__ import annotations

import numpy as np

from difffake_core.signals.base import SIGNALS, FaceSet, TrackFeatureSignal, Units

EPS = 1e-3
MOUTH = np.arange(48, 68)
EYES_BROWS = np.r_[np.arange(17, 27), np.arange(36, 48)]
JAW = np.arange(0, 17)
FEATURES = (
    "log_head_speed", "log_scale_rate", "log_roll_rate", "log_yaw_rate", "log_pitch_rate",
    "log_mouth_rate", "log_eye_rate", "log_shape_rate_mouth", "log_shape_rate_eyes",
    "log_shape_rate_jaw", "log_shape_accel", "mouth_std", "eye_std", "blink_depth",
    "corr_mouth_head", "corr_mouth_eye", "log_jitter_shape", "log_jitter_head",
)  # fmt: skip


def frame_geometry(lm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame geometry of landmarks ``(T, 68, 2)`` frame pixels (see module doc)."""
    lm = np.asarray(lm, np.float64)
    er, el = lm[:, 36:42].mean(1), lm[:, 42:48].mean(1)
    eye_vec = el - er
    iod = np.maximum(np.linalg.norm(eye_vec, axis=1), 1e-6)
    roll = np.arctan2(eye_vec[:, 1], eye_vec[:, 0])
    centre = lm.mean(1)
    c, s = np.cos(-roll), np.sin(-roll)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], 1)  # (T, 2, 2)
    aligned = np.einsum("tij,tkj->tki", rot, lm - centre[:, None]) / iod[:, None, None]
    eye_mid = 0.5 * (aligned[:, 36:42].mean(1) + aligned[:, 42:48].mean(1))
    mouth_c = aligned[:, 48:68].mean(1)
    nose = aligned[:, 30]
    yaw = nose[:, 0] - eye_mid[:, 0]
    pitch = (nose[:, 1] - eye_mid[:, 1]) / np.maximum(mouth_c[:, 1] - eye_mid[:, 1], 1e-3)
    mouth = np.linalg.norm(aligned[:, 62] - aligned[:, 66], axis=1)

    def ear(p: np.ndarray) -> np.ndarray:
        v = np.linalg.norm(p[:, 1] - p[:, 5], axis=1) + np.linalg.norm(p[:, 2] - p[:, 4], axis=1)
        return v / np.maximum(2 * np.linalg.norm(p[:, 0] - p[:, 3], axis=1), 1e-6)

    eye = 0.5 * (ear(aligned[:, 36:42]) + ear(aligned[:, 42:48]))
    return {"iod": iod, "roll": roll, "centre": centre, "aligned": aligned, "yaw": yaw,
            "pitch": pitch, "mouth": mouth, "eye": eye}  # fmt: skip


def _log_rate(delta: np.ndarray, dt: np.ndarray) -> float:
    return float(np.log(np.median(np.abs(delta) / dt) + EPS)) if delta.size else np.nan


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.std(a) < 1e-9 or np.std(b) < 1e-9:
        return np.nan
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))  # Spearman: ranks
    return float(np.corrcoef(ra, rb)[0, 1])


def track_features(
    lm: np.ndarray, t: np.ndarray, nb_lm: np.ndarray | None = None,
    nb_dt: np.ndarray | None = None, nb_anchor: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Features (:data:`FEATURES`) of one track.

    Args:
        lm: sampled frames' landmarks ``(T, 68, 2)``, sorted by time; ``t``: their times (s).
        nb_lm: neighbour landmarks ``(M, 68, 2)``; ``nb_dt``: their time offset to the
            anchor (s, non-zero); ``nb_anchor``: position of each anchor in ``lm`` ``(M,)``.

    Returns:
        Shape ``(len(FEATURES),)`` float64, NaN where not computable.
    """
    g = frame_geometry(lm)
    out = np.full(len(FEATURES), np.nan)
    scale = float(np.median(g["iod"]))
    dt = np.diff(np.asarray(t, np.float64))
    good = dt > 0
    if lm.shape[0] >= 3 and good.sum() >= 2:
        dt_g = dt[good]

        def d(x: np.ndarray) -> np.ndarray:
            return np.diff(x, axis=0)[good]

        head = np.linalg.norm(d(g["centre"]), axis=1) / scale
        shape_d = np.linalg.norm(d(g["aligned"]), axis=2)  # (T-1, 68)
        out[0] = _log_rate(head, dt_g)
        out[1] = _log_rate(d(np.log(g["iod"])), dt_g)
        out[2] = _log_rate(d(np.unwrap(g["roll"])), dt_g)
        out[3] = _log_rate(d(g["yaw"]), dt_g)
        out[4] = _log_rate(d(g["pitch"]), dt_g)
        out[5] = _log_rate(d(g["mouth"]), dt_g)
        out[6] = _log_rate(d(g["eye"]), dt_g)
        out[7] = _log_rate(shape_d[:, MOUTH].mean(1), dt_g)
        out[8] = _log_rate(shape_d[:, EYES_BROWS].mean(1), dt_g)
        out[9] = _log_rate(shape_d[:, JAW].mean(1), dt_g)
        vel = d(g["aligned"]) / dt_g[:, None, None]
        if len(vel) >= 2:
            acc = np.linalg.norm(np.diff(vel, axis=0), axis=2).mean(1)
            out[10] = float(np.log(np.median(acc / dt_g[1:]) + EPS))
        out[11] = float(np.std(g["mouth"]))
        out[12] = float(np.std(g["eye"]))
        med_eye = float(np.median(g["eye"]))
        out[13] = (med_eye - float(np.min(g["eye"]))) / max(med_eye, 1e-6)
        pose = np.abs(d(g["yaw"])) + np.abs(d(g["pitch"])) + np.abs(d(np.unwrap(g["roll"])))
        out[14] = _corr(np.abs(d(g["mouth"])) / dt_g, pose / dt_g)
        out[15] = _corr(g["mouth"], g["eye"])
    if nb_lm is not None and len(nb_lm) and np.isfinite(out[0]):
        ng = frame_geometry(nb_lm)
        anchor = np.asarray(nb_anchor, np.int64)
        ndt = np.abs(np.asarray(nb_dt, np.float64))
        jit_shape = np.linalg.norm(ng["aligned"] - g["aligned"][anchor], axis=2).mean(1)
        jit_head = np.linalg.norm(ng["centre"] - g["centre"][anchor], axis=1) / scale
        smooth_shape = np.exp(np.nanmean(out[7:10])) * np.median(ndt)
        smooth_head = np.exp(out[0]) * np.median(ndt)
        out[16] = float(np.log(np.median(jit_shape) / (smooth_shape + EPS) + EPS))
        out[17] = float(np.log(np.median(jit_head) / (smooth_head + EPS) + EPS))
    return out


@SIGNALS.register("landmark_dynamics")
class LandmarkDynamicsSignal(TrackFeatureSignal):
    """One unit per track with at least ``min_frames`` (default 6) sampled frames (module doc)."""

    name = "landmark_dynamics"
    requires = ("landmarks",)
    default_min_frames = 6

    def units(self, faces: FaceSet) -> Units:
        rows, tracks, firsts, lasts = [], [], [], []
        fps = faces.fps if faces.fps and faces.fps > 0 else 25.0
        times = (
            np.asarray(faces.timestamp_s, np.float64)
            if faces.timestamp_s is not None
            else faces.frame_index / fps
        )
        sampled = faces.is_sampled
        for track in np.unique(faces.track_id):
            sel = np.flatnonzero(sampled & (faces.track_id == track))
            if sel.size < self.min_frames:
                continue
            sel = sel[np.argsort(times[sel], kind="stable")]
            pos = {int(faces.frame_index[i]): k for k, i in enumerate(sel)}
            nb = [i for i in np.flatnonzero(~sampled & (faces.track_id == track))
                  if int(faces.anchor_frame[i]) in pos]  # fmt: skip
            nb_anchor = np.array([pos[int(faces.anchor_frame[i])] for i in nb], np.int64)
            nb_dt = (faces.frame_index[nb] - faces.anchor_frame[nb]) / fps if nb else None
            rows.append(
                track_features(
                    faces.landmarks[sel],
                    times[sel],
                    faces.landmarks[nb] if nb else None,
                    nb_dt,
                    nb_anchor,
                )
            )
            tracks.append(int(track))
            firsts.append(int(faces.frame_index[sel[0]]))
            lasts.append(int(faces.frame_index[sel[-1]]))
        return Units.per_track(tracks, firsts, lasts, rows, len(FEATURES))

    def fit(self, videos) -> LandmarkDynamicsSignal:
        parts = [self.units(v) for v in videos if not self.missing(v)]
        n = sum(len(u) for u in parts)
        if n < 4:
            raise ValueError(f"signal 'landmark_dynamics': {n} real tracks to fit on, need >= 4")
        X = np.concatenate([u.X for u in parts if len(u)])
        finite = np.isfinite(X)
        counts = finite.sum(axis=0)
        center = np.where(finite, X, 0.0).sum(axis=0) / np.maximum(counts, 1)
        center = np.where(counts > 0, center, np.nan)
        self.center_ = np.where(np.isfinite(center), center, 0.0)
        Xf = np.where(np.isfinite(X), X, self.center_)
        spread = Xf.std(axis=0)
        self.spread_ = np.where(spread > 1e-9, spread, 1.0)
        from difffake_core.anomaly import create_anomaly_model

        self.model_ = create_anomaly_model(self.anomaly_model, **self.anomaly_params)
        self.model_.fit(self._prepare(Xf))
        self.n_fit_units_ = int(len(X))
        return self

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, np.float64)
        X = np.where(np.isfinite(X), X, self.center_)
        return (X - self.center_) / self.spread_
