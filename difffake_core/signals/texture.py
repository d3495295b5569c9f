"""Signal ``texture``: how a face's sharpness, noise and colour relate to its surroundings.

Each sampled crop gives the features of :mod:`difffake_core.faces.texture` (log ratios of
detail and noise between the face and a ring around it, the mouth and eyes against the skin,
edges along the jaw, and the chroma distance of skin to ring). Being ratios inside one crop,
they are normalised by the footage's own resolution, compression and lighting. One unit per
face track: the per-feature median over the track's sampled crops (a feature no crop could
measure is neutral, the real mean). Like ``landmark_dynamics`` the anomaly model (default a
single full-covariance Gaussian, regularised) is fitted on standardised features of real
tracks.
"""

from __future__ import annotations

import warnings

import numpy as np

from difffake_core.faces.texture import FEATURES
from difffake_core.signals.base import SIGNALS, FaceSet, TrackFeatureSignal, Units


@SIGNALS.register("texture")
class TextureSignal(TrackFeatureSignal):
    """One unit per track with at least ``min_frames`` (default 4) measured sampled crops."""

    name = "texture"
    requires = ("texture",)
    default_min_frames = 4

    def units(self, faces: FaceSet) -> Units:
        tex = np.asarray(faces.texture, np.float64)
        if tex.ndim != 2 or tex.shape[1] != len(FEATURES):
            raise ValueError(
                f"FaceSet.texture must have shape (N, {len(FEATURES)}), got {tex.shape}"
            )
        measured = faces.is_sampled & np.isfinite(tex).any(axis=1)
        rows, tracks, firsts, lasts = [], [], [], []
        for track in np.unique(faces.track_id[measured]):
            sel = np.flatnonzero(measured & (faces.track_id == track))
            if sel.size < self.min_frames:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a feature NaN in every crop
                rows.append(np.nanmedian(tex[sel], axis=0))
            tracks.append(int(track))
            frames = faces.frame_index[sel]
            firsts.append(int(frames.min()))
            lasts.append(int(frames.max()))
        return Units.per_track(tracks, firsts, lasts, rows, len(FEATURES))
