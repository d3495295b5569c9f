"""Identity tracks: link the faces of a video's sampled frames into one track per person.

DiffFake compares two frames of the *same* person; a pair of two people looks like a deepfake.
Tracks make "same person" explicit, and the tracker is built to split rather than merge: when
in doubt a new track starts (fewer pairs), never a mixed one (a false alarm).

Each sampled frame is one step. The faces of a step are assigned to the open tracks by the
Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`, deterministic for a given cost
matrix) on a cost that adds four terms, each the distance divided by its gate:

* position: distance between box centres in face heights, allowed ``max_shift`` face heights
  per step elapsed since the track was last seen (so a track missing for two steps may have
  moved twice as far);
* size: ``|log(h_face / h_track)|``, allowed ``log(max_size_ratio)``;
* appearance (optional): Bhattacharyya distance of hue-saturation histograms of the face
  region (:func:`appearance_histogram`) to the track's running mean, allowed
  ``max_appearance_dist``;
* geometry (optional): mean absolute log-difference of landmark proportions
  (:func:`geometry_signature`) to the track's running mean, allowed ``max_geometry_dist``.

**Shot cuts.** A cut can put another person's face where the last one was, and then every gate
above passes. With a scene signature per step (:func:`~difffake_core.faces.shots.scene_signature`)
and a face texture per sighting (:func:`~difffake_core.faces.shots.face_texture`), a link is
also refused when *both* the picture changed like a cut since the track was last seen
(:func:`~difffake_core.faces.shots.scene_change` above ``cut_scene_change``) *and* the face
differs from each of the track's last ``texture_memory`` faces
(:func:`~difffake_core.faces.shots.texture_distance` above ``cut_face_change``). Neither cue
alone splits a track: a fast pan, a shaking phone or a light show changes the picture but not
the face; a head turn or an expression changes the face but not the picture (a face-filling
crop that turns its head changes both, and is the measured way this gate still splits a
continuous shot). ``cut_scene_change = inf`` turns the gate off. See
:mod:`difffake_core.faces.shots` for what the defaults separate.

A pair over any gate cannot be assigned (its cost is a large constant, so the assignment first
links as many feasible pairs as it can, then minimises their cost); a track's appearance and
geometry are exponential running means (``momentum``). Faces left unassigned start new tracks,
in the order they are given (largest first in ingest), so track ids ``0..K-1`` follow first
appearance.

**Gaps and re-entry.** A track stays open while it has been missing for at most ``max_gap``
consecutive steps. A person who leaves and comes back within that window, near enough for the
widened position gate and with a similar appearance and geometry, continues the same track;
later, or elsewhere, or looking different, they get a new track. Two faces of one step are never
in one track.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from difffake_core.faces.shots import scene_change, texture_distance

_INFEASIBLE = 1e6


@dataclass(frozen=True)
class TrackParams:
    """Gates and weights of :class:`FaceTracker` (see the module docstring).

    Shot-cut gate (both must be exceeded to refuse a link; measured in
    :mod:`difffake_core.faces.shots`): ``cut_scene_change`` (default 0.5: exceeded by 0.2% of
    the links of one person in continuous dev/dev2 shots, by 97.5% of cuts between two real
    clips) and ``cut_face_change`` (default 0.33: exceeded by 1.9% of those links, by 99.9% of
    the faces of two different people), against each of the track's last ``texture_memory``
    faces (default 3). The results hardly move with ``cut_face_change`` from 0.30 to 0.40;
    ``cut_scene_change`` trades cuts missed against continuous shots split (0.45 / 0.5 / 0.55:
    16 / 32 / 59 of 4422 synthetic cuts still mixed, 4 / 3 / 2 extra tracks on 66 real clips).
    """

    max_gap: int = 3
    max_shift: float = 1.0
    max_size_ratio: float = 1.6
    max_appearance_dist: float = 0.5
    max_geometry_dist: float = 0.35
    appearance_weight: float = 1.0
    geometry_weight: float = 0.5
    size_weight: float = 0.5
    momentum: float = 0.7
    cut_scene_change: float = 0.5
    cut_face_change: float = 0.33
    texture_memory: int = 3

    def __post_init__(self) -> None:
        if self.texture_memory < 1:
            raise ValueError(f"texture_memory must be >= 1, got {self.texture_memory}")
        if not self.cut_scene_change >= 0 or not self.cut_face_change >= 0:
            raise ValueError(
                "cut_scene_change and cut_face_change must be >= 0, got "
                f"{self.cut_scene_change} and {self.cut_face_change}"
            )


@dataclass
class Sighting:
    """One face in one sampled frame, as the tracker sees it.

    ``box``: ``(4,)`` face box (x0, y0, x1, y1) in frame pixels; ``histogram``: ``(B,)`` from
    :func:`appearance_histogram` or None; ``geometry``: ``(G,)`` from
    :func:`geometry_signature` or None; ``texture``: ``(T,)`` from
    :func:`~difffake_core.faces.shots.face_texture` or None (no shot-cut gate for it).
    """

    box: np.ndarray
    histogram: np.ndarray | None = None
    geometry: np.ndarray | None = None
    texture: np.ndarray | None = None

    @property
    def centre(self) -> np.ndarray:
        return (np.asarray(self.box[:2], np.float64) + np.asarray(self.box[2:], np.float64)) / 2

    @property
    def height(self) -> float:
        return max(float(self.box[3] - self.box[1]), 1e-6)


@dataclass
class _Track:
    track_id: int
    last_step: int
    last: Sighting
    histogram: np.ndarray | None
    geometry: np.ndarray | None
    steps: list[int] = field(default_factory=list)
    scene: np.ndarray | None = None  # scene signature of the step it was last seen in
    textures: deque = field(default_factory=deque)  # its last ``texture_memory`` textures


def appearance_histogram(frame: np.ndarray, box: np.ndarray, bins: tuple[int, int] = (12, 8)):
    """Normalised hue-saturation histogram of the pixels inside ``box``.

    ``frame``: ``(H, W, 3)`` uint8 RGB. Returns float32 ``(bins[0] * bins[1],)`` summing to 1
    (all zeros for an empty box).
    """
    h, w = frame.shape[:2]
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(math.ceil(box[2])), w), min(int(math.ceil(box[3])), h)
    n = bins[0] * bins[1]
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros(n, np.float32)
    hsv = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1], None, list(bins), [0, 180, 0, 256]).reshape(-1)
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def geometry_signature(landmarks68: np.ndarray) -> np.ndarray:
    """Log proportions of a face from its 68 landmarks, in the face's own axes.

    The points are turned so the eyes lie level (roll removed). Vertical proportions are taken
    relative to the eyes-to-chin height (nose tip, nostrils, mouth, lower lip, brows) and
    horizontal ones relative to the jaw width (eye distance, mouth width, nose width), so a
    head turn (which shrinks widths) or a nod (heights) moves only one group. Still a soft cue:
    the tracker gates it loosely. ``landmarks68``: ``(68, 2)``. Returns float32 ``(8,)``.
    """
    p = np.asarray(landmarks68, np.float64)[:, :2]
    eye_l, eye_r = p[36:42].mean(0), p[42:48].mean(0)
    d = eye_r - eye_l
    angle = math.atan2(d[1], d[0])
    rot = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    q = (p - (eye_l + eye_r) / 2) @ rot.T
    height = max(q[8, 1], 1e-6)
    width = max(q[16, 0] - q[0, 0], 1e-6)
    mouth = q[48:60].mean(0)
    values = [
        q[30, 1] / height,
        q[33, 1] / height,
        mouth[1] / height,
        q[57, 1] / height,
        -q[17:27, 1].mean() / height,
        float(np.linalg.norm(d)) / width,
        (q[54, 0] - q[48, 0]) / width,
        (q[35, 0] - q[31, 0]) / width,
    ]
    return np.log(np.maximum(values, 1e-6)).astype(np.float32)


def _bhattacharyya(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        cv2.compareHist(a.astype(np.float32), b.astype(np.float32), cv2.HISTCMP_BHATTACHARYYA)
    )


class FaceTracker:
    """Online identity tracker over sampled frames (see the module docstring).

    Call :meth:`update` once per sampled frame, in order, with that frame's faces.
    """

    def __init__(self, params: TrackParams | None = None) -> None:
        self.params = params or TrackParams()
        self._tracks: list[_Track] = []
        self._step = -1
        self._scene_changes: dict[int, float] = {}  # this step's change since step k
        self.cut_splits = 0  # track-face pairs the shot-cut gate refused (feasible otherwise)

    @property
    def n_tracks(self) -> int:
        return len(self._tracks)

    def _scene_change(self, track: _Track, scene: np.ndarray | None) -> float:
        if scene is None or track.scene is None:
            return 0.0
        if track.last_step not in self._scene_changes:
            self._scene_changes[track.last_step] = scene_change(track.scene, scene)
        return self._scene_changes[track.last_step]

    def _is_cut(self, track: _Track, s: Sighting, scene: np.ndarray | None) -> bool:
        """Both cues of a shot cut to another face (see the module docstring)."""
        p = self.params
        if s.texture is None or not track.textures:
            return False
        if self._scene_change(track, scene) <= p.cut_scene_change:
            return False
        return min(texture_distance(t, s.texture) for t in track.textures) > p.cut_face_change

    def _cost(self, track: _Track, s: Sighting, step: int, scene: np.ndarray | None) -> float:
        p = self.params
        elapsed = step - track.last_step
        h = (track.last.height + s.height) / 2
        shift = float(np.linalg.norm(s.centre - track.last.centre)) / h
        size = abs(math.log(s.height / track.last.height))
        terms = [
            (shift, p.max_shift * elapsed, 1.0),
            (size, math.log(p.max_size_ratio), p.size_weight),
        ]
        if track.histogram is not None and s.histogram is not None:
            app = _bhattacharyya(track.histogram, s.histogram)
            terms.append((app, p.max_appearance_dist, p.appearance_weight))
        if track.geometry is not None and s.geometry is not None:
            geo = float(np.abs(track.geometry - s.geometry).mean())
            terms.append((geo, p.max_geometry_dist, p.geometry_weight))
        if any(value > gate for value, gate, _ in terms):
            return _INFEASIBLE
        if self._is_cut(track, s, scene):
            self.cut_splits += 1
            return _INFEASIBLE
        return sum(w * value / max(gate, 1e-9) for value, gate, w in terms)

    def update(
        self, step: int, sightings: Sequence[Sighting], scene: np.ndarray | None = None
    ) -> list[int]:
        """Track ids of this step's faces (same order as ``sightings``).

        ``step``: the sampled frame's ordinal; must increase from call to call. ``scene``: the
        frame's :func:`~difffake_core.faces.shots.scene_signature` (None: no shot-cut gate
        for links into this step).
        """
        if step <= self._step:
            raise ValueError(f"steps must increase, got {step} after {self._step}")
        self._step = step
        self._scene_changes = {}
        p = self.params
        open_tracks = [t for t in self._tracks if step - t.last_step - 1 <= p.max_gap]
        ids = [-1] * len(sightings)
        if open_tracks and sightings:
            cost = np.array(
                [[self._cost(t, s, step, scene) for s in sightings] for t in open_tracks]
            )
            for r, c in zip(*linear_sum_assignment(cost), strict=True):
                if cost[r, c] < _INFEASIBLE:
                    self._extend(open_tracks[r], sightings[c], step, scene)
                    ids[c] = open_tracks[r].track_id
        for c, s in enumerate(sightings):
            if ids[c] < 0:
                t = _Track(len(self._tracks), step, s, s.histogram, s.geometry, [step])
                self._remember(t, s, scene)
                self._tracks.append(t)
                ids[c] = t.track_id
        return ids

    def _remember(self, track: _Track, s: Sighting, scene: np.ndarray | None) -> None:
        track.scene = scene
        if s.texture is not None:
            track.textures.append(s.texture)
            while len(track.textures) > self.params.texture_memory:
                track.textures.popleft()

    def _extend(self, track: _Track, s: Sighting, step: int, scene: np.ndarray | None) -> None:
        m = self.params.momentum
        track.last, track.last_step = s, step
        track.steps.append(step)
        self._remember(track, s, scene)
        if s.histogram is not None:
            track.histogram = s.histogram if track.histogram is None else (
                m * track.histogram + (1 - m) * s.histogram
            )  # fmt: skip
        if s.geometry is not None:
            track.geometry = s.geometry if track.geometry is None else (
                m * track.geometry + (1 - m) * s.geometry
            )  # fmt: skip


def link_tracks(
    frames: Sequence[Sequence[Sighting]],
    params: TrackParams | None = None,
    scenes: Sequence[np.ndarray | None] | None = None,
) -> list[list[int]]:
    """Track ids for every face of a sequence of sampled frames (one list per frame);
    ``scenes``: one scene signature (or None) per frame."""
    tracker = FaceTracker(params)
    scenes = scenes if scenes is not None else [None] * len(frames)
    if len(scenes) != len(frames):
        raise ValueError(f"{len(scenes)} scenes for {len(frames)} frames")
    return [
        tracker.update(step, faces, scene)
        for step, (faces, scene) in enumerate(zip(frames, scenes, strict=True))
    ]
