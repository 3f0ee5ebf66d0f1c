"""Gaze on a photo portrait: the irises slide inside the eye openings as the eyeLook* blendshapes say.

The mesh warp moves the lids but cannot turn an eye: the eye opening is one band of triangles whose
texture follows the lids. Gaze is drawn after it, by a second backward displacement inside each eye
opening only. The iris disc (MediaPipe's iris landmarks: centre and a four-point ring) moves
rigidly by the gaze shift; the white between the iris and the lids stretches on one side and
compresses on the other; the lid contour itself does not move (the displacement falls to zero there),
so the lids, lashes and the skin around the eye stay exactly as the mesh warp drew them.

Angles: an eyeLook blendshape at 1 is ``EYE_LOOK_FULL_DEG`` (the motion model's convention,
emogen.talking.idle.IdleConfig), and an eye turned by angle a moves its iris by ``R sin a`` in the
image, with R the eyeball radius. Gaze is relative to the still: PhotoPortrait counts the still's
own look as zero, so a requested look turns the eyes from where the photo already looks.
"""
from __future__ import annotations

import cv2
import numpy as np

from emogen.face.rig import BLENDSHAPE_INDEX
from emogen.talking.idle import IdleConfig
from emogen.talking.photo_mesh import LEFT_EYE_LOWER, LEFT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

EYE_LOOK_FULL_DEG = IdleConfig().eye_look_full_deg  # the angle an eyeLook value of 1 stands for
# Adult eyeball radius (~12 mm) over the mean inter-ocular distance (~63 mm).
EYEBALL_RADIUS_IOD = 0.19
# MediaPipe's iris landmarks: centre, then four points on the iris edge. "Right" is the subject's right.
IRISES = {-1: (468, (469, 470, 471, 472)), +1: (473, (474, 475, 476, 477))}
EYE_CONTOURS = {-1: (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), +1: (LEFT_EYE_UPPER, LEFT_EYE_LOWER)}
SUFFIX = {-1: "Right", +1: "Left"}
# The middle of each upper and lower lid: the opening's height over the iris.
LID_MIDDLES = {-1: (159, 145), +1: (386, 374)}
# Gaze fades out as the lids close (the iris goes behind them): full at half the still's opening,
# none below a fifth of it (a blink), so a shut eye is never smeared sideways.
GAZE_FULL_OPENING, GAZE_NO_OPENING = 0.5, 0.2


def eye_looks(values: np.ndarray) -> dict[int, np.ndarray]:
    """Per eye (-1 = subject's right, +1 = left): (horizontal, vertical) look in blendshape units,
    + towards the subject's left and down. Looking "out" turns an eye away from the nose."""
    def channel(name: str, suffix: str) -> float:
        return float(values[BLENDSHAPE_INDEX[f"eyeLook{name}{suffix}"]])

    return {side: np.array([side * (channel("Out", s) - channel("In", s)), channel("Down", s) - channel("Up", s)])
            for side, s in SUFFIX.items()}


def gaze_shifts(values: np.ndarray) -> dict[int, np.ndarray]:
    """Per eye: the iris shift in face units (u, v) x IOD (u towards the subject's left, v down:
    emogen.talking.photo_motion.FaceFrame)."""
    return {side: EYEBALL_RADIUS_IOD * np.sin(np.radians(EYE_LOOK_FULL_DEG * looks))
            for side, looks in eye_looks(values).items()}


def iris_radius(landmarks: np.ndarray, side: int) -> float:
    """The iris radius in pixels: mean distance from the centre landmark to the four edge landmarks."""
    centre, edge = IRISES[side]
    return float(np.linalg.norm(landmarks[list(edge), :2] - landmarks[centre, :2], axis=1).mean())


def eye_opening(points: np.ndarray, side: int) -> float:
    """The distance between the middles of an eye's lids, in pixels."""
    upper, lower = LID_MIDDLES[side]
    return float(np.linalg.norm(points[upper, :2] - points[lower, :2]))


def redirect_gaze(map_x: np.ndarray, map_y: np.ndarray, origin: tuple[int, int], points: np.ndarray,
                  shifts_px: dict[int, np.ndarray], radii: dict[int, float], still_openings: dict[int, float]) -> None:
    """Displace the backward maps (over a box starting at ``origin`` = (x0, y0)) inside each eye opening.

    ``points``: the frame's moved landmarks (image pixels); ``shifts_px``: per eye, the iris shift in
    pixels; ``still_openings``: per eye, `eye_opening` in the still. A pixel p of the opening takes
    what the warp drew at p - w(p) * shift, where w is 1 on the moved iris disc and falls to 0 at the
    lid contour: w = d_lid / (d_lid + d_iris)."""
    x0, y0 = origin
    height, width = map_x.shape
    for side, shift in shifts_px.items():
        opened = eye_opening(points, side) / max(still_openings[side], 1e-6)
        shift = shift * float(np.clip((opened - GAZE_NO_OPENING) / (GAZE_FULL_OPENING - GAZE_NO_OPENING), 0.0, 1.0))
        if float(np.hypot(*shift)) < 0.05:
            continue
        upper, lower = EYE_CONTOURS[side]
        contour = np.concatenate([points[list(upper), :2], points[list(lower[::-1]), :2]]) - (x0, y0)
        left, top = np.floor(contour.min(axis=0)).astype(int) - 1
        right, bottom = np.ceil(contour.max(axis=0)).astype(int) + 2
        left, top, right, bottom = max(left, 0), max(top, 0), min(right, width), min(bottom, height)
        if right - left < 2 or bottom - top < 2:
            continue
        mask = np.zeros((bottom - top, right - left), np.uint8)
        cv2.fillPoly(mask, [np.round((contour - (left, top)) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        to_lid = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
        centre = points[IRISES[side][0], :2] + shift - (x0 + left, y0 + top)
        ys, xs = np.mgrid[0 : bottom - top, 0 : right - left].astype(np.float32)
        to_iris = np.maximum(np.hypot(xs - centre[0], ys - centre[1]) - radii[side], 0.0)
        weight = np.where(mask > 0, to_lid / np.maximum(to_lid + to_iris, 1e-6), 0.0).astype(np.float32)
        # Sample the warp's own maps at the displaced positions (exact under any head turn).
        sample_x = xs - weight * np.float32(shift[0])
        sample_y = ys - weight * np.float32(shift[1])
        box = (slice(top, bottom), slice(left, right))
        moved_x = cv2.remap(map_x[box], sample_x, sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        moved_y = cv2.remap(map_y[box], sample_x, sample_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = mask > 0
        map_x[box][inside] = moved_x[inside]
        map_y[box][inside] = moved_y[inside]


def look(values: np.ndarray) -> np.ndarray:
    """(horizontal, vertical) look of both eyes together (their mean), in blendshape units; also how a
    landmarker's eyeLook output is read back (bench/bench_talking_photo.py)."""
    return np.mean(list(eye_looks(values).values()), axis=0)


def with_look(values: np.ndarray, horizontal: float, vertical: float) -> np.ndarray:
    """A copy of ``values`` whose eyeLook channels add a look of (horizontal, vertical) to theirs: both
    eyes turned together, + towards the subject's left and down, in blendshape units."""
    values = np.array(values, dtype=np.float64)
    for side, s in SUFFIX.items():
        out = side * horizontal  # the left eye looks out when the gaze goes to the subject's left
        values[BLENDSHAPE_INDEX[f"eyeLookOut{s}"]] += max(out, 0.0)
        values[BLENDSHAPE_INDEX[f"eyeLookIn{s}"]] += max(-out, 0.0)
        values[BLENDSHAPE_INDEX[f"eyeLookDown{s}"]] += max(vertical, 0.0)
        values[BLENDSHAPE_INDEX[f"eyeLookUp{s}"]] += max(-vertical, 0.0)
    return values
