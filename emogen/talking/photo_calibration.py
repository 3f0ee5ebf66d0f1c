"""Calibrating the photo displacement model against the real landmarker.

The displacements of emogen.talking.photo_motion were written by hand in inter-ocular distances;
whether a frame warped by "browDown 1" actually *shows* browDown 1 is a question for an
independent measurement. Here MediaPipe's FaceLandmarker re-measures rendered frames: each group
of blendshapes (the two sides of a pair move together) is commanded at ``LEVELS`` on a neutral
face (every other blendshape 0), at a range of trial gains on its displacement, and the gain is
chosen whose commanded -> re-measured slope is closest to 1. Two limits keep the warp a face:

- a fold limit: no triangle of the face mesh may turn over at level 1 (a folded mesh draws the
  skin twice and tears it elsewhere);
- ``MAX_GAIN`` (3x the hand-set shift); below the limits, a group whose slope never reaches 1
  takes the gain of its steepest slope (MediaPipe's readings saturate or fall off past it).

No expression classifier is involved, so the fit cannot overfit an emotion benchmark. Development
portraits only (the astronaut and EmoFaces avatars); held-out photos are never used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES
from emogen.score.blendshape import GEOMETRY_FULL_SCALE, face_geometry
from emogen.talking.photo_mesh import NUM_LANDMARKS

LEVELS = (0.0, 0.5, 1.0)
TRIAL_GAINS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0)
MAX_GAIN = 3.0  # beyond 3x the hand-set shifts no face moves that far
MIN_VISIBLE_SLOPE = 0.1  # below this at every gain the landmarker does not see the group: gain 1
FOLD_TOLERANCE = 0.002  # share of the face area allowed to fold (slivers at the lid and lip lines)
MIN_TRIANGLE_AREA = 0.5  # px^2: lip and lid strips of a closed mouth/eye have zero area, skip them

# Groups of blendshapes that share a gain; MediaPipe's reading of a group is the mean of its names.
# Not calibrated: eyeLook* (no landmark moves: photo_gaze slides the irises), tongueOut (painted, no landmark
# moves) and mouthClose (it only acts on an open jaw; the landmarker reads it with jawOpen).
CALIBRATION_GROUPS: dict[str, tuple[str, ...]] = {
    stem: tuple(n for n in BLENDSHAPE_NAMES if n in (stem, stem + "Left", stem + "Right"))
    for stem in ("browDown", "browInnerUp", "browOuterUp", "eyeBlink", "eyeSquint", "eyeWide",
                 "cheekSquint", "cheekPuff", "noseSneer", "jawOpen", "jawForward", "jawLeft", "jawRight",
                 "mouthSmile", "mouthFrown", "mouthDimple", "mouthStretch", "mouthPress", "mouthPucker",
                 "mouthFunnel", "mouthLeft", "mouthRight", "mouthUpperUp", "mouthLowerDown",
                 "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper")
}


@dataclass
class GroupFit:
    """The calibration of one group on one or more portraits."""

    group: str
    gain: float
    fold_gain: float  # the largest trial gain at which no face triangle turns over
    slopes: dict[float, float] = field(default_factory=dict)  # trial gain -> re-measured slope
    visible: bool = True


def group_values(names: Sequence[str], level: float) -> np.ndarray:
    values = np.zeros(len(BLENDSHAPE_NAMES))
    values[[BLENDSHAPE_INDEX[n] for n in names]] = level
    return values


def _brow_lowering(landmarks: np.ndarray) -> float:
    return -face_geometry(landmarks)["brow_inner"] / GEOMETRY_FULL_SCALE["brow_down"]


def _corner_lowering(landmarks: np.ndarray) -> float:
    geometry = face_geometry(landmarks)
    return -(geometry["corner_left"] + geometry["corner_right"]) / 2 / GEOMETRY_FULL_SCALE["corner_down"]


# MediaPipe's blendshape head barely reads brow lowering (slope <= 0.11 at any gain that does not
# fold the mesh) and its mouthFrown reading plateaus near 0.25; for these two groups the gain is
# fitted to the geometric AU readings of emogen.score.blendshape (AU4: inner brow height over the
# eyes, AU15: corner height under the lip centre, in IOD over the FACS full-scale movement),
# measured on the same landmarker's re-detected landmarks (unclipped, so the slope is defined).
GEOMETRY_READINGS = {"browDown": _brow_lowering, "mouthFrown": _corner_lowering}


def measured(portrait, frame: np.ndarray, names: Sequence[str], group: str | None = None) -> float:
    """The landmarker's reading of ``names`` on ``frame``: MediaPipe's mean blendshape value, or
    the geometric reading of ``GEOMETRY_READINGS[group]``; NaN when no face is found."""
    faces = portrait.landmarker.detect(frame)
    if not faces:
        return float("nan")
    if group in GEOMETRY_READINGS:
        return float(GEOMETRY_READINGS[group](faces[0].landmarks))
    return float(np.mean([faces[0].blendshapes.get(n, 0.0) for n in names]))


def response(portrait, group: str, levels: Iterable[float] = LEVELS) -> list[float]:
    """Re-measured readings of ``group`` commanded at ``levels`` on a neutral face (others 0)."""
    names = CALIBRATION_GROUPS[group]
    return [measured(portrait, portrait.render(group_values(names, level)), names, group) for level in levels]


def slope(levels: Sequence[float], readings: Sequence[float]) -> float:
    x, y = np.asarray(levels, float), np.asarray(readings, float)
    keep = np.isfinite(y)
    if keep.sum() < 2:
        return float("nan")
    x, y = x[keep], y[keep]
    return float(np.polyfit(x, y, 1)[0])


def folded_fraction(portrait, names: Sequence[str], gain: float) -> float:
    """The share of the face mesh's area (in the still) whose triangles turn over when ``names``
    go to 1 at ``gain``."""
    ids = [BLENDSHAPE_INDEX[n] for n in names]
    # The group alone (from the still's value to 1), so that one group's limit is not another's.
    delta = 1.0 - portrait.still_blendshapes[ids]
    moves = gain * np.tensordot(delta, portrait.rig.unit_basis[ids], axes=1)
    source = portrait.mesh.source[:NUM_LANDMARKS]
    tris = portrait.mesh.triangles
    tris = tris[(tris < NUM_LANDMARKS).all(axis=1)]
    before, after = _signed_areas(source, tris), _signed_areas(source + moves, tris)
    sized = np.abs(before) > MIN_TRIANGLE_AREA
    flipped = sized & (np.sign(before) != np.sign(after))
    return float(np.abs(before[flipped]).sum() / np.abs(before[sized]).sum())


def folds(portrait, names: Sequence[str], gain: float) -> bool:
    """Whether level 1 of ``names`` at ``gain`` folds more than ``FOLD_TOLERANCE`` of the face."""
    return folded_fraction(portrait, names, gain) > FOLD_TOLERANCE


def _signed_areas(points: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def fit_group(portraits: Sequence, group: str, trial_gains: Sequence[float] = TRIAL_GAINS,
              levels: Sequence[float] = LEVELS) -> GroupFit:
    """The gain of ``group`` whose mean slope over ``portraits`` is closest to 1 (see module doc)."""
    names = CALIBRATION_GROUPS[group]
    fold_gain = 0.0
    for gain in trial_gains:
        if any(folds(p, names, gain) for p in portraits):
            break
        fold_gain = gain
    # Folding caps a raise only: a group that folds a little at the hand-set magnitude (gain 1,
    # checked by eye) keeps it rather than being weakened for it.
    allowed = sorted(g for g in trial_gains if g <= max(fold_gain, 1.0) and g <= MAX_GAIN)
    slopes: dict[float, float] = {}

    def trial(gain: float) -> float:
        per_portrait = []
        for portrait in portraits:
            kept = dict(zip(BLENDSHAPE_NAMES, portrait.rig.gains))
            portrait.rig.set_gains({**kept, **{n: gain for n in names}})
            try:
                per_portrait.append(slope(levels, response(portrait, group, levels)))
            finally:
                portrait.rig.set_gains(kept)
        slopes[gain] = float(np.nanmean(per_portrait)) if np.isfinite(per_portrait).any() else float("nan")
        return slopes[gain]

    # The strongest allowed gain first: a group the landmarker does not see even there keeps gain 1.
    if not trial(allowed[-1]) >= MIN_VISIBLE_SLOPE:
        return GroupFit(group, 1.0, fold_gain, slopes, visible=False)
    for gain in allowed[:-1]:  # then upwards until the slope passes 1
        if trial(gain) > 1.0:
            break
    tried = [g for g in allowed if g in slopes and np.isfinite(slopes[g])]
    return GroupFit(group, _closest_to_one(tried, slopes), fold_gain, dict(sorted(slopes.items())))


def _closest_to_one(gains: Sequence[float], slopes: dict[float, float]) -> float:
    """Interpolate the gain where the slope crosses 1; if it never does, the gain of the steepest
    slope (past it the landmarker loses the feature in the distortion)."""
    gains = sorted(gains)
    for low, high in zip(gains, gains[1:]):
        s_low, s_high = slopes[low], slopes[high]
        if s_low <= 1.0 <= s_high and s_high > s_low:
            return round(low + (1.0 - s_low) * (high - low) / (s_high - s_low), 2)
    if slopes[gains[0]] >= 1.0:  # too strong even at the smallest trial gain: scale down
        return round(gains[0] / slopes[gains[0]], 2)
    return max(gains, key=lambda g: slopes[g])


def calibrate(portraits: Sequence, groups: Iterable[str] | None = None) -> dict[str, GroupFit]:
    """Fit every group (or ``groups``) on ``portraits`` (PhotoPortrait instances)."""
    return {group: fit_group(portraits, group) for group in (groups or CALIBRATION_GROUPS)}


def gains_table(fits: dict[str, GroupFit]) -> dict[str, float]:
    """Blendshape name -> gain, for photo_motion.CALIBRATED_GAINS."""
    return {name: fit.gain for fit in fits.values() for name in CALIBRATION_GROUPS[fit.group]}
