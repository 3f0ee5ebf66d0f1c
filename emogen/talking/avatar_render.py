"""The EmoFaces avatar as a talking-head renderer: ``render(blendshapes, pose) -> HxWx3 uint8``.

Same interface as ``emogen.talking.photo.PhotoPortrait``, so both go through one animation path.
Two translations from ARKit motion to the avatar's parameters:

* Lips. ARKit's ``mouthClose`` is the part of ``jawOpen`` that the lips cancel (mouthClose = jawOpen:
  lips sealed over an open jaw). The avatar reads ``mouthClose`` as closing the jaw and lips together,
  by at most 80%, so a /p/ at jawOpen = mouthClose = 0.06 would show a 2 px gap at 256 px. We hand the
  avatar the opening ARKit means (jawOpen - mouthClose) with mouthClose = 0, which in its model draws
  exactly that lip gap.
* Pitch. The avatar turns by yaw and roll only. A nod (pitch) rotates the head about an axis through
  the neck; seen from the front, the features on the face, about a face unit in front of that axis,
  move down by about that lever times sin(pitch). Pitch is drawn as that vertical offset (chin down:
  the face moves down), without the foreshortening a real nod adds.
"""
from __future__ import annotations

import math

import numpy as np

from emogen.errors import EmotionError
from emogen.face.avatar import FACE_SCALE, POSE_LIMITS, ROLL_PIVOT_Y, Identity, Pose, render_face
from emogen.face.rig import BLENDSHAPE_INDEX

RENDER_SIZES = (64, 512)  # the avatar renderer's own limits; talking heads use 256 and 512
_JAW, _CLOSE = BLENDSHAPE_INDEX["jawOpen"], BLENDSHAPE_INDEX["mouthClose"]


class AvatarPortrait:
    """An EmoFaces identity (``Identity.from_seed(seed)``) animated frame by frame."""

    expression_prototypes = None  # the EmoFaces world's own EMFACS_PROTOTYPES

    def __init__(self, seed: int = 0, size: int = 256) -> None:
        self.identity = Identity.from_seed(seed)  # validates the seed
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not RENDER_SIZES[0] <= size <= RENDER_SIZES[1]:
            raise EmotionError(f"avatar size must be an integer from {RENDER_SIZES[0]} to {RENDER_SIZES[1]} px, got {size!r}")
        self.seed = int(seed)
        self.size = int(size)
        self.warnings: tuple[str, ...] = ()
        self.kind = "avatar"

    def describe(self) -> str:
        return f"avatar:{self.seed}"

    def render(self, blendshapes: np.ndarray, pose: tuple[float, float, float] | None = None) -> np.ndarray:
        values = np.array(blendshapes, dtype=np.float64, copy=True)
        if values.shape == (52,):
            values = avatar_lips(values)
        return np.asarray(render_face(self.identity, values, avatar_pose(pose), self.size))


def avatar_lips(blendshapes: np.ndarray) -> np.ndarray:
    """A (52,) float64 copy with the lip opening ARKit means as jawOpen (jawOpen - mouthClose) and
    mouthClose 0: what the avatar is handed (module doc). The EmoFaces speaking stills use it too."""
    values = np.array(blendshapes, dtype=np.float64, copy=True)
    values[_JAW] = max(0.0, values[_JAW] - values[_CLOSE])
    values[_CLOSE] = 0.0
    return values


def avatar_pose(pose: tuple[float, float, float] | None) -> Pose | None:
    """(yaw, pitch, roll) degrees -> the avatar's Pose, clipped to what it can draw."""
    if pose is None:
        return None
    yaw, pitch, roll = (float(v) for v in pose)
    if not all(math.isfinite(v) for v in (yaw, pitch, roll)):
        raise EmotionError(f"head pose must be finite degrees, got {pose!r}")
    lever = ROLL_PIVOT_Y * FACE_SCALE  # about one face unit, as a fraction of the image
    y = lever * math.sin(math.radians(pitch))
    return Pose(yaw=_clip(yaw, "yaw"), roll=_clip(roll, "roll"), y=_clip(y, "y"))


def _clip(value: float, field: str) -> float:
    low, high = POSE_LIMITS[field]
    return min(high, max(low, value))
