"""The checks every video request passes before a model is involved (no torch here: the CLI runs them
before it imports diffusers)."""
from __future__ import annotations

import math

from emogen.emotion import EmotionArc
from emogen.errors import EmotionError


def check_frame_count(frames: object, max_frames: int, name: str = "frames") -> int:
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= max_frames:
        raise EmotionError(f"{name} must be an integer from 1 to {max_frames}, got {frames!r}")
    return frames


def check_arc_fits(arc: EmotionArc, num_frames: int, fps: float) -> None:
    """The arc's last keyframe must be shown: on or before the last frame's time."""
    last_frame = (num_frames - 1) / fps
    if arc.duration > last_frame + 1e-9:
        needed = int(math.ceil(arc.duration * fps - 1e-9)) + 1
        raise EmotionError(
            f"the emotion arc lasts {arc.duration:g}s but {num_frames} frames at {fps:g} fps end at {last_frame:g}s; "
            f"use at least {needed} frames, a lower fps, or a shorter arc"
        )
