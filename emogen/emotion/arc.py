"""`EmotionArc`: an emotion that changes over time, as keyframes sampled at any frame rate.

Between keyframes the VAD point, the category mixture and the intensity move along the same eased
path (smoothstep: zero velocity at each keyframe, so holds look natural and the curve is C1). A convex
combination of two distributions is a distribution, so every sampled frame is a valid Emotion.
Before the first keyframe and after the last the arc holds its end values.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from emogen.emotion.emotion import Emotion
from emogen.emotion.parse import parse_emotion
from emogen.errors import EmotionError

INTERPOLATIONS = ("smooth", "linear")
MAX_FPS = 1000.0
MAX_FRAMES = 1_000_000

_TIME = re.compile(r"^\s*(?P<value>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>ms|s)?\s*$")


@dataclass(frozen=True)
class Keyframe:
    time: float  # seconds
    emotion: Emotion


@dataclass(frozen=True)
class EmotionArc:
    keyframes: tuple[Keyframe, ...]
    interpolation: str = "smooth"

    def __post_init__(self) -> None:
        if not self.keyframes:
            raise EmotionError("an emotion arc needs at least one keyframe")
        if self.interpolation not in INTERPOLATIONS:
            raise EmotionError(f"unknown interpolation {self.interpolation!r}; accepted: {', '.join(INTERPOLATIONS)}")
        times = [k.time for k in self.keyframes]
        for index, time in enumerate(times):
            if not math.isfinite(time) or time < 0:
                raise EmotionError(f"keyframe {index} has time {time!r}; times must be finite and >= 0 seconds")
        for index in range(1, len(times)):
            if times[index] <= times[index - 1]:
                raise EmotionError(
                    f"keyframe times must increase: keyframe {index} at {times[index]:g}s comes after "
                    f"{times[index - 1]:g}s"
                )
        # All keyframes share the first one's category set, so mixtures can be interpolated.
        category_set = self.keyframes[0].emotion.category_set
        object.__setattr__(
            self, "keyframes", tuple(Keyframe(k.time, k.emotion.to_set(category_set)) for k in self.keyframes)
        )

    # ----- construction ---------------------------------------------------------------------------
    @classmethod
    def constant(cls, emotion: Emotion) -> EmotionArc:
        return cls((Keyframe(0.0, emotion),))

    @classmethod
    def parse(cls, spec: str | Mapping | Emotion | EmotionArc, category_set: str | None = None) -> EmotionArc:
        """'joy@0 -> sadness@3.5' (seconds; 's' or 'ms' suffixes accepted), a single emotion, or JSON."""
        if isinstance(spec, EmotionArc):
            return spec
        if isinstance(spec, Emotion):
            return cls.constant(spec.to_set(category_set) if category_set else spec)
        if isinstance(spec, Mapping):
            return cls.from_dict(spec, category_set)
        if not isinstance(spec, str):
            raise EmotionError(f"an arc spec must be a string or a mapping, got {type(spec).__name__}")
        text = spec.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as err:
                raise EmotionError(f"arc spec looks like JSON but is not valid: {err}") from None
            if not isinstance(data, Mapping):
                raise EmotionError("arc JSON must be an object with 'keyframes'")
            if "keyframes" not in data:
                return cls.constant(parse_emotion(data, category_set))
            return cls.from_dict(data, category_set)
        parts = text.split("->")
        keyframes = []
        for index, part in enumerate(parts):
            emotion_text, at, time_text = part.rpartition("@")
            if not at:
                if len(parts) == 1:
                    return cls.constant(parse_emotion(part, category_set))
                raise EmotionError(
                    f"keyframe {index} ({part.strip()!r}) has no time; write e.g. 'joy@0 -> sadness@3.5'"
                )
            keyframes.append(Keyframe(_parse_time(time_text, index), parse_emotion(emotion_text, category_set)))
        return cls(tuple(keyframes))

    @classmethod
    def from_dict(cls, data: Mapping, category_set: str | None = None) -> EmotionArc:
        raw = data.get("keyframes")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise EmotionError("arc 'keyframes' must be a non-empty list of {'time': seconds, 'emotion': spec}")
        keyframes = []
        for index, item in enumerate(raw):
            if not isinstance(item, Mapping) or "time" not in item or "emotion" not in item:
                raise EmotionError(f"arc keyframe {index} must be {{'time': seconds, 'emotion': spec}}, got {item!r}")
            time = item["time"]
            if isinstance(time, bool) or not isinstance(time, (int, float)):
                raise EmotionError(f"keyframe {index} time must be a number of seconds, got {time!r}")
            keyframes.append(Keyframe(float(time), parse_emotion(item["emotion"], category_set)))
        return cls(tuple(keyframes), data.get("interpolation", "smooth"))

    def to_dict(self) -> dict:
        return {
            "interpolation": self.interpolation,
            "keyframes": [{"time": k.time, "emotion": k.emotion.to_dict()} for k in self.keyframes],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> EmotionArc:
        return cls.parse(text)

    # ----- sampling -------------------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Time of the last keyframe (0 for a constant arc)."""
        return self.keyframes[-1].time

    @property
    def category_set(self) -> str:
        return self.keyframes[0].emotion.category_set

    def at(self, time: float) -> Emotion:
        """The emotion at ``time`` seconds."""
        times = [k.time for k in self.keyframes]
        if time <= times[0]:
            return self.keyframes[0].emotion
        if time >= times[-1]:
            return self.keyframes[-1].emotion
        right = int(np.searchsorted(times, time, side="right"))
        start, end = self.keyframes[right - 1], self.keyframes[right]
        u = (time - start.time) / (end.time - start.time)
        weight = u * u * (3.0 - 2.0 * u) if self.interpolation == "smooth" else u
        return _blend(start.emotion, end.emotion, weight)

    def frame_times(self, fps: float, duration: float | None = None, frames: int | None = None) -> np.ndarray:
        """Frame times at ``fps``: ``frames`` of them, or enough to cover ``duration`` (default: the arc's)."""
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= MAX_FPS:
            raise EmotionError(f"fps must be in (0, {MAX_FPS:g}], got {fps!r}")
        if frames is None:
            duration = self.duration if duration is None else duration
            if not math.isfinite(duration) or duration < 0:
                raise EmotionError(f"duration must be >= 0 seconds, got {duration!r}")
            frames = int(math.floor(duration * fps + 1e-9)) + 1
        if not 1 <= frames <= MAX_FRAMES:
            raise EmotionError(f"frame count must be in [1, {MAX_FRAMES}], got {frames}")
        return np.arange(frames, dtype=np.float64) / fps

    def sample(self, fps: float, duration: float | None = None, frames: int | None = None) -> list[Emotion]:
        """One Emotion per frame."""
        return [self.at(float(t)) for t in self.frame_times(fps, duration, frames)]


def _parse_time(text: str, index: int) -> float:
    match = _TIME.match(text)
    if not match:
        raise EmotionError(
            f"keyframe {index} time {text.strip()!r} is not a time; write seconds >= 0 such as '3.5', '3.5s' or '500ms'"
        )
    value = float(match["value"])
    return value / 1000.0 if match["unit"] == "ms" else value


def _blend(a: Emotion, b: Emotion, weight: float) -> Emotion:
    mix = lambda x, y: (1.0 - weight) * np.asarray(x) + weight * np.asarray(y)  # noqa: E731
    v, ar, d = (float(x) for x in np.clip(mix(a.vad, b.vad), -1.0, 1.0))
    probs = mix(a.probs, b.probs)
    return Emotion(v, ar, d, float(np.clip(mix(a.intensity, b.intensity), 0, 1)), a.category_set, tuple(probs))
