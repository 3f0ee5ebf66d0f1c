"""Motion tracks: ARKit-52 blendshapes, head pose and gaze per frame, and their CSV / JSON files.

The CSV is the layout Epic's Live Link Face app records and that the Live Link Face importers for
Blender, Maya and Unreal read: a ``Timecode`` column (HH:MM:SS:FF.mmm), ``BlendShapeCount`` (61),
the 52 ARKit curves in Unreal's ``EARFaceBlendShape`` order with Unreal's capitalised names
(``EyeBlinkLeft``, ...), then ``HeadYaw, HeadPitch, HeadRoll`` and the two eyes' yaw/pitch/roll.
Angles in the CSV are radians (Live Link Face's curves hold rotations as values in [-1, 1]; ours stay
well inside that); inside emogen and in the JSON they are degrees, as ``emogen.face.avatar.Pose`` uses.

Conventions (degrees): head yaw > 0 turns the face towards the image's right, pitch > 0 tilts the
chin down (a nod), roll > 0 tilts the head clockwise in the image; gaze is (horizontal, vertical)
with > 0 towards the image's right and up.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES, NUM_BLENDSHAPES
from emogen.io import atomic_output

# Unreal's EARFaceBlendShape order, which Live Link Face's CSV follows (the eyes first, then the jaw ...).
LIVE_LINK_ORDER: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen", "mouthClose",
    "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LIVE_LINK_CURVES = 61  # 52 blendshapes + 3 head + 6 eye rotations: Live Link Face's BlendShapeCount
CSV_HEADER = ("Timecode", "BlendShapeCount", *(n[0].upper() + n[1:] for n in LIVE_LINK_ORDER),
              *HEAD_COLUMNS, *EYE_COLUMNS)
_CSV_TO_RIG = np.array([BLENDSHAPE_INDEX[n] for n in LIVE_LINK_ORDER])
TRACK_SUFFIXES = (".csv", ".json")


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields make a generated __eq__ ambiguous
class MotionTracks:
    """Per-frame face motion at ``fps``: ``blendshapes`` (n, 52) in BLENDSHAPE_NAMES order and [0, 1],
    ``head_pose`` (n, 3) yaw/pitch/roll in degrees, ``gaze`` (n, 2) horizontal/vertical degrees or None."""

    fps: float
    blendshapes: np.ndarray
    head_pose: np.ndarray
    gaze: np.ndarray | None = None

    def __post_init__(self) -> None:
        fps = float(self.fps) if isinstance(self.fps, (int, float)) and not isinstance(self.fps, bool) else math.nan
        if not (math.isfinite(fps) and fps > 0):
            raise EmotionError(f"motion tracks need a positive fps, got {self.fps!r}")
        object.__setattr__(self, "fps", fps)
        shapes = _finite("blendshapes", self.blendshapes, NUM_BLENDSHAPES)
        if shapes.shape[0] == 0:
            raise EmotionError("motion tracks need at least one frame, got 0")
        if shapes.min() < 0.0 or shapes.max() > 1.0:
            raise EmotionError(f"blendshape values must be in [0, 1], got [{shapes.min():.3g}, {shapes.max():.3g}]")
        object.__setattr__(self, "blendshapes", shapes)
        pose = _finite("head_pose", self.head_pose, 3)
        if pose.shape[0] != shapes.shape[0]:
            raise EmotionError(f"head_pose has {pose.shape[0]} frames, blendshapes {shapes.shape[0]}")
        object.__setattr__(self, "head_pose", pose)
        if self.gaze is not None:
            gaze = _finite("gaze", self.gaze, 2)
            if gaze.shape[0] != shapes.shape[0]:
                raise EmotionError(f"gaze has {gaze.shape[0]} frames, blendshapes {shapes.shape[0]}")
            object.__setattr__(self, "gaze", gaze)

    @property
    def n_frames(self) -> int:
        return int(self.blendshapes.shape[0])

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    def channel(self, name: str) -> np.ndarray:
        """One blendshape's track by ARKit name."""
        if name not in BLENDSHAPE_INDEX:
            raise EmotionError(f"unknown blendshape {name!r}; accepted: the 52 ARKit names ({BLENDSHAPE_NAMES[0]}, ...)")
        return self.blendshapes[:, BLENDSHAPE_INDEX[name]]

    # ----- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = {
            "fps": self.fps,
            "n_frames": self.n_frames,
            "blendshape_names": list(BLENDSHAPE_NAMES),
            "blendshapes": np.round(self.blendshapes, 5).tolist(),
            "head_pose_names": ["yaw", "pitch", "roll"],
            "head_pose_deg": np.round(self.head_pose, 4).tolist(),
        }
        if self.gaze is not None:
            data["gaze_names"] = ["horizontal", "vertical"]
            data["gaze_deg"] = np.round(self.gaze, 4).tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> MotionTracks:
        try:
            names = data["blendshape_names"]
            values = np.asarray(data["blendshapes"], dtype=np.float64)
            order = [BLENDSHAPE_INDEX[n] for n in names]
            shapes = np.zeros((values.shape[0], NUM_BLENDSHAPES))
            shapes[:, order] = values
            gaze = data.get("gaze_deg")
            return cls(data["fps"], shapes, np.asarray(data["head_pose_deg"], dtype=np.float64),
                       None if gaze is None else np.asarray(gaze, dtype=np.float64))
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise EmotionError(f"not a motion-track JSON (need fps, blendshape_names, blendshapes, "
                               f"head_pose_deg): {err!r}") from None

    # ----- Live Link Face CSV ---------------------------------------------------------------------
    def to_csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        head = np.radians(self.head_pose)
        # Both eyes share the gaze direction; Live Link Face's eye yaw/pitch are the eyeball's own turn.
        gaze = np.radians(self.gaze) if self.gaze is not None else np.zeros((self.n_frames, 2))
        for frame in range(self.n_frames):
            eye = [gaze[frame, 0], gaze[frame, 1], 0.0]
            row = [timecode(frame, self.fps), LIVE_LINK_CURVES,
                   *self.blendshapes[frame, _CSV_TO_RIG], *head[frame], *eye, *eye]
            writer.writerow([row[0], row[1], *(f"{float(v):.6f}" for v in row[2:])])
        return out.getvalue()

    @classmethod
    def from_csv_text(cls, text: str, fps: float) -> MotionTracks:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or tuple(rows[0][: len(CSV_HEADER)]) != CSV_HEADER:
            raise EmotionError("not a Live Link Face CSV: the header must start "
                               f"{', '.join(CSV_HEADER[:4])}, ...")
        try:
            values = np.array([[float(v) for v in row[2: len(CSV_HEADER)]] for row in rows[1:]], dtype=np.float64)
        except ValueError as err:
            raise EmotionError(f"motion-track CSV holds a value that is not a number: {err}") from None
        if values.ndim != 2 or values.shape[0] == 0:
            raise EmotionError("motion-track CSV has no frames")
        shapes = np.zeros((len(values), NUM_BLENDSHAPES))
        shapes[:, _CSV_TO_RIG] = values[:, :NUM_BLENDSHAPES]
        head = np.degrees(values[:, NUM_BLENDSHAPES: NUM_BLENDSHAPES + 3])
        gaze = np.degrees(values[:, NUM_BLENDSHAPES + 3: NUM_BLENDSHAPES + 5])
        return cls(fps, shapes, head, gaze)

    # ----- files ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.csv: Live Link Face layout; .json: names, values and fps), atomically."""
        path = check_track_path(path)
        text = self.to_text(path.suffix)
        with atomic_output(path) as temporary:
            temporary.write_text(text)
        return path

    def to_text(self, suffix: str) -> str:
        """The file contents for a '.csv' or '.json' track file."""
        if suffix.lower() not in TRACK_SUFFIXES:
            raise EmotionError(f"motion tracks are written as {' or '.join(TRACK_SUFFIXES)}, not {suffix!r}")
        return self.to_csv_text() if suffix.lower() == ".csv" else json.dumps(self.to_dict())

    @classmethod
    def load(cls, path: str | Path, fps: float | None = None) -> MotionTracks:
        """Read a file ``save`` wrote. A CSV carries its frame rate only in its timecodes: pass ``fps``."""
        path = check_track_path(path)
        if not path.is_file():
            raise EmotionError(f"{path} is not a file")
        if path.suffix.lower() == ".json":
            try:
                return cls.from_dict(json.loads(path.read_text()))
            except json.JSONDecodeError as err:
                raise EmotionError(f"{path} is not valid JSON: {err}") from None
        if fps is None:
            raise EmotionError("reading a motion-track CSV needs its fps (the file holds timecodes only)")
        return cls.from_csv_text(path.read_text(), fps)


def check_track_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in TRACK_SUFFIXES:
        raise EmotionError(f"motion-track file {path} must end in {' or '.join(TRACK_SUFFIXES)}")
    return path


def timecode(frame: int, fps: float) -> str:
    """SMPTE-like HH:MM:SS:FF.mmm of ``frame`` counted from zero (Live Link Face's Timecode column)."""
    seconds = frame / fps
    whole = int(math.floor(seconds + 1e-9))
    frames_into_second = frame - int(math.ceil(whole * fps - 1e-9))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{frames_into_second:02d}.000"


def _finite(name: str, values: object, width: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        raise EmotionError(f"{name} must be a numeric array of shape (n, {width})") from None
    if array.ndim != 2 or array.shape[1] != width:
        raise EmotionError(f"{name} must have shape (n, {width}), got {array.shape}")
    if not np.isfinite(array).all():
        raise EmotionError(f"{name} holds NaN or infinite values")
    return array
