"""EmoFaces: a procedural world of cartoon faces with exact emotion labels, as stills and clips.

Every image is drawn by ``emogen.face.avatar`` from an identity seed, a pose and the blendshapes that
``emogen.face.rig`` derives from an ``Emotion``, so its labels (category, valence/arousal/dominance,
intensity, blendshapes) are the ground truth, not an annotator's guess.

Identities. Identity seeds in ``SPLITS["train"]`` are for training; ``SPLITS["heldout"]`` is a
disjoint range for measuring generalisation to faces never seen in training.

Stills. Each still is one identity with one emotion of one of three kinds (``STILL_KINDS``):
``category`` - a single MEAD-8 category at intensity U(0.5, 1); ``mixture`` - two categories, the first
weighted U(0.5, 0.85), intensity U(0.5, 1); ``va`` - a point of the valence-arousal plane (uniform
over the unit disc) through ``Emotion.from_vad``. The pose is small and random. A still's category
is ``emotion.top``; its caption describes the identity only (hair, glasses, beard, skin, shirt,
background) and never the emotion, so a captioned generator must get the emotion from elsewhere.

Clips. Each clip is one identity following an ``EmotionArc`` of 2-3 keyframes (single categories at
intensity U(0.5, 1); half of the transitions go to the category whose VA prototype is farthest away,
e.g. joy -> sadness), blinking at natural intervals (U(2, 6) s apart, ~150 ms long) and moving its
head smoothly (a sum of slow sinusoids per pose axis). Every frame carries its own labels.

Speaking stills (opt-in, ``SpeakingAugmentation``; off by default). With probability ``speech_prob`` a
still gets a random speech mouth: one or two of the talking head's visemes (``emogen.talking.visemes``)
mixed as coarticulation mixes neighbours, the opening scaled as loudness scales it, laid over the
expression by the talking head's own speech/emotion rule (``emogen.talking.expression.speaking_face``)
and handed to the renderer as the talking avatar hands it (lip seal as jaw opening minus mouthClose).
With probability ``blink_prob`` it blinks (lids partly or fully closed). The labels stay the still's
emotion: a scorer trained on these reads the expression through speech and blinks. The draws come from
a generator of their own, so the still under the mouth is the same one as without the augmentation.

Determinism and sharding. Item ``i`` of a stream is drawn from its own generator seeded with
(seed, split, stream, i), so it is the same whatever the number of processes or DataLoader workers.
Items are dealt out in chunks of ``chunk_size``: chunk ``c`` goes to process ``c % world_size`` and,
within it, to worker ``(c // world_size) % num_workers``. With ``chunk_size`` equal to the DataLoader's
batch size, process ``r``'s ``j``-th batch is exactly chunk ``j * world_size + r`` for any number of
workers, so training resumes bit-exactly from a step count (``start``).

Export. ``export_emofaces`` writes a Hugging Face imagefolder (``metadata.jsonl`` + PNGs) with
``schema.write_imagefolder`` (atomic). Clips are written as one row per frame, ``000000.png``, ... in
clip order; each row's ``attributes`` hold ``clip``, ``frame``, ``time``, ``fps``, ``blink``, ``pose``
and ``arc`` (the clip's arc as an ``EmotionArc.parse`` spec), so a clip is the rows with one ``clip``
value sorted by ``frame``.
"""
from __future__ import annotations

import colorsys
import dataclasses
import math
import os
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import torch
from PIL import Image

from emogen.data.schema import EmotionSample, write_imagefolder
from emogen.emotion import Emotion, EmotionArc, get_set
from emogen.emotion.categories import prototype
from emogen.errors import EmotionError
from emogen.face.avatar import Identity, Pose, render_face
from emogen.face.rig import BLENDSHAPE_INDEX, blendshapes_as_dict, emotion_to_blendshapes

CATEGORY_SET = "mead8"
CATEGORIES: tuple[str, ...] = get_set(CATEGORY_SET).categories
EXPRESSIVE: tuple[str, ...] = tuple(c for c in CATEGORIES if c != "neutral")
SOURCE = "emofaces"

# Identity seeds per split: [first, last). Disjoint, so "heldout" measures unseen faces.
SPLITS: dict[str, tuple[int, int]] = {"train": (0, 10_000), "heldout": (10_000, 12_000)}
_SPLIT_CODES = {"train": 0, "heldout": 1}
_STREAM_CODES = {"stills": 0, "clips": 1}

STILL_KINDS: dict[str, float] = {"category": 0.6, "mixture": 0.15, "va": 0.25}
KINDS: tuple[str, ...] = (*STILL_KINDS, "arc")  # "arc": a clip frame; ``kind`` tensors index this
INTENSITY_RANGE = (0.5, 1.0)
MIXTURE_WEIGHT_RANGE = (0.5, 0.85)

SIZE_RANGE = (64, 512)  # what the avatar renderer draws
MAX_EXPORT = 1_000_000
FPS_RANGE = (1.0, 60.0)
DURATION_RANGE = (0.5, 60.0)
DEFAULT_FPS = 12.0
DEFAULT_DURATION = 4.0

# Natural blinking: every 2-6 s, lids closed for about 150 ms (Bentivoglio et al. 1997, Movement
# Disorders 12(6): ~17 blinks/min at rest; Caffier et al. 2003: blink duration 100-400 ms).
BLINK_INTERVAL = (2.0, 6.0)
BLINK_DURATION = (0.12, 0.2)
FIRST_BLINK = (0.3, 3.0)


# ----- one face -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceSpec:
    """Everything that determines one EmoFaces image: who, feeling what, posed how."""

    identity_seed: int
    emotion: Emotion
    kind: str  # category | mixture | va | arc
    pose: Pose
    blink: float = 0.0  # eyelid closure from blinking (clips), added on top of the emotion's
    speech_mouth: tuple[float, ...] | None = None  # 52 speech-mouth values laid over the expression (speaking stills)

    @cached_property
    def blendshapes(self) -> np.ndarray:
        values = emotion_to_blendshapes(self.emotion)
        if self.speech_mouth is not None:
            values = _speaking(values, np.asarray(self.speech_mouth, np.float64), self.emotion.arousal)
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            values[BLENDSHAPE_INDEX[name]] = max(values[BLENDSHAPE_INDEX[name]], self.blink)
        return values

    def render(self, size: int) -> Image.Image:
        return render_face(_identity(self.identity_seed), self.blendshapes, self.pose, size)

    def to_sample(self, size: int, attributes: Mapping) -> EmotionSample:
        """The face as a schema sample whose image is rendered when it is read."""
        emotion = self.emotion
        return EmotionSample(
            image=lambda: self.render(size),
            caption=describe_identity(_identity(self.identity_seed)),
            category=emotion.top,
            category_set=CATEGORY_SET,
            valence=emotion.valence,
            arousal=emotion.arousal,
            dominance=emotion.dominance,
            intensity=emotion.intensity,
            blendshapes=blendshapes_as_dict(self.blendshapes),
            identity=str(self.identity_seed),
            source=SOURCE,
            attributes={
                "kind": self.kind,
                "probs": emotion.categories,
                "pose": {name: round(getattr(self.pose, name), 4) for name in ("yaw", "roll", "scale", "x", "y")},
                **attributes,
            },
        )

    def to_tensors(self, size: int) -> dict[str, torch.Tensor]:
        """Training tensors, keyed as ``loaders.EmotionImageDataset`` keys them, plus exact extras
        (``probs`` over MEAD-8, ``blendshapes``, ``blink``, ``identity``; ``kind`` indexes ``KINDS``)."""
        emotion = self.emotion
        pixels = np.asarray(self.render(size), dtype=np.float32)
        return {
            "pixel_values": torch.from_numpy(pixels).permute(2, 0, 1) / 127.5 - 1.0,
            "category": torch.tensor(CATEGORIES.index(emotion.top), dtype=torch.long),
            "probs": torch.tensor(emotion.probs, dtype=torch.float32),
            "valence": torch.tensor(emotion.valence, dtype=torch.float32),
            "arousal": torch.tensor(emotion.arousal, dtype=torch.float32),
            "has_va": torch.tensor(True),
            "dominance": torch.tensor(emotion.dominance, dtype=torch.float32),
            "intensity": torch.tensor(emotion.intensity, dtype=torch.float32),
            "blendshapes": torch.tensor(self.blendshapes, dtype=torch.float32),
            "blink": torch.tensor(self.blink, dtype=torch.float32),
            "identity": torch.tensor(self.identity_seed, dtype=torch.long),
            "kind": torch.tensor(KINDS.index(self.kind), dtype=torch.long),
        }


@lru_cache(maxsize=4096)
def _identity(seed: int) -> Identity:
    return Identity.from_seed(seed)


def _rng(seed: int, split: str, stream: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_CODES[split], _STREAM_CODES[stream], index])


def _identity_seed(rng: np.random.Generator, split: str) -> int:
    first, last = SPLITS[split]
    return int(rng.integers(first, last))


def _intensity(rng: np.random.Generator) -> float:
    return float(rng.uniform(*INTENSITY_RANGE))


def random_emotion(rng: np.random.Generator, kind: str) -> Emotion:
    """An emotion of one of ``STILL_KINDS``, drawn as the module docstring describes."""
    if kind == "category":
        return Emotion.from_category(CATEGORIES[rng.integers(len(CATEGORIES))], _intensity(rng), CATEGORY_SET)
    if kind == "mixture":
        first, second = rng.choice(EXPRESSIVE, size=2, replace=False)
        weight = float(rng.uniform(*MIXTURE_WEIGHT_RANGE))
        return Emotion.from_mixture({str(first): weight, str(second): 1.0 - weight}, _intensity(rng), CATEGORY_SET)
    if kind == "va":
        radius, angle = math.sqrt(rng.random()), rng.uniform(0.0, 2.0 * math.pi)
        return Emotion.from_vad(radius * math.cos(angle), radius * math.sin(angle), category_set=CATEGORY_SET)
    raise EmotionError(f"unknown EmoFaces still kind {kind!r}; accepted: {', '.join(STILL_KINDS)}")


def random_pose(rng: np.random.Generator) -> Pose:
    """A small head pose: a face looking roughly at the camera, roughly centred."""
    return Pose(yaw=rng.uniform(-12, 12), roll=rng.uniform(-8, 8), scale=rng.uniform(0.92, 1.08),
                x=rng.uniform(-0.04, 0.04), y=rng.uniform(-0.04, 0.04))


def still_spec(index: int, split: str = "train", seed: int = 0, kinds: Mapping[str, float] | None = None) -> FaceSpec:
    """Still number ``index`` of the (split, seed) stream."""
    kinds = check_kinds(kinds)
    rng = _rng(seed, split, "stills", index)
    identity_seed = _identity_seed(rng, split)
    names = list(kinds)
    kind = names[int(rng.choice(len(names), p=np.array(list(kinds.values())) / sum(kinds.values())))]
    return FaceSpec(identity_seed, random_emotion(rng, kind), kind, random_pose(rng))


# ----- speaking stills (opt-in) --------------------------------------------------------------------------

@dataclass(frozen=True)
class SpeakingAugmentation:
    """Stills that look like talking-head frames: a speech mouth and/or a blink (module doc). Off: all 0.

    ``speech_prob``: share of stills given a random speech mouth; ``blink_prob``: share given a blink,
    half of them nearly shut (closure U(0.8, 1)), half part-way (U(0.1, 0.8)) as frames inside a blink are.
    ``kinds``: which still kinds may get them. Points of the VA plane carry their arousal in small cues
    on exactly these channels (jaw opening up, lids lowered when calm), so a speech mouth or a blink on
    them would teach the valence/arousal head noise; leave "va" out to keep those labels readable.
    ``opening_range``: scale of the jaw and lip opening (the talking head's loudness range, quiet to
    shouted); ``shape_range``: scale of the lip shape (rounding, spreading), below 1 where coarticulation
    pulls a viseme towards its neighbours.
    """

    speech_prob: float = 0.0
    blink_prob: float = 0.0
    # emogen.talking.visemes.LOUDNESS_RANGE (a test holds them equal; importing visemes here would pull
    # emogen.speech and scipy.signal into every EmoFaces import).
    opening_range: tuple[float, float] = (0.25, 1.5)
    shape_range: tuple[float, float] = (0.5, 1.0)
    kinds: tuple[str, ...] = tuple(STILL_KINDS)  # still kinds that may speak and blink (others stay plain)

    def __post_init__(self) -> None:
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        if not kinds or any(k not in STILL_KINDS for k in kinds):
            raise EmotionError(f"speaking kinds must be some of {', '.join(STILL_KINDS)}, got {self.kinds!r}")
        object.__setattr__(self, "kinds", kinds)
        for name in ("speech_prob", "blink_prob"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise EmotionError(f"{name} must be a probability in [0, 1], got {value!r}")
        for name in ("opening_range", "shape_range"):
            value = getattr(self, name)
            if (not isinstance(value, (tuple, list)) or len(value) != 2
                    or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)
                    or not 0.0 <= value[0] <= value[1] <= 2.0):
                raise EmotionError(f"{name} must be (low, high) with 0 <= low <= high <= 2, got {value!r}")
            object.__setattr__(self, name, (float(value[0]), float(value[1])))

    @property
    def active(self) -> bool:
        return self.speech_prob > 0 or self.blink_prob > 0


def random_speech_mouth(rng: np.random.Generator,
                        opening_range: tuple[float, float] = SpeakingAugmentation.opening_range,
                        shape_range: tuple[float, float] = SpeakingAugmentation.shape_range) -> np.ndarray:
    """(52,) a speech mouth as the talking head's viseme track has them on one frame.

    Two visemes of ``emogen.talking.visemes`` (any of the 15, silence and /p b m/ included: lips together
    happen inside speech too) mixed with a random weight, as coarticulation mixes neighbours; the opening
    channels scaled by U(opening_range) (loudness), the lip shape by U(shape_range). When /p b m/ leads
    the mix the lips are sealed over the jaw, as the viseme track seals them.
    """
    from emogen.talking.effort import EFFORT_CHANNELS
    from emogen.talking.visemes import LIP_PARTING_CHANNELS, MOUTH_BLENDSHAPES, VISEME_SHAPES, VISEMES

    first, second = (str(v) for v in rng.choice(VISEMES, size=2))
    weight = float(rng.uniform(0.5, 1.0))  # the sound at this frame leads its neighbour
    opening, shape = float(rng.uniform(*opening_range)), float(rng.uniform(*shape_range))
    mouth = np.zeros(len(BLENDSHAPE_INDEX))
    for viseme, share in ((first, weight), (second, 1.0 - weight)):
        for name, value in VISEME_SHAPES[viseme].items():
            mouth[BLENDSHAPE_INDEX[name]] += share * value
    for name in MOUTH_BLENDSHAPES:
        mouth[BLENDSHAPE_INDEX[name]] *= opening if name in EFFORT_CHANNELS else shape  # loudness scales opening
    if first == "PP":
        for name in LIP_PARTING_CHANNELS:
            mouth[BLENDSHAPE_INDEX[name]] = 0.0
        mouth[BLENDSHAPE_INDEX["mouthClose"]] = mouth[BLENDSHAPE_INDEX["jawOpen"]]
    return np.clip(mouth, 0.0, 1.0)


def _speaking(expression: np.ndarray, mouth: np.ndarray, arousal: float) -> np.ndarray:
    """The expression speaking with ``mouth``, by the talking head's rule, in the avatar's lip terms."""
    from emogen.talking.avatar_render import avatar_lips
    from emogen.talking.expression import speaking_face

    # Handed over as the talking avatar hands its frames: the lip gap ARKit means (jawOpen - mouthClose).
    return avatar_lips(speaking_face(mouth, expression, 1.0, arousal))


_AUGMENT_CODE = 1  # the speaking draws: their own generator, beside the still's
# A blink's lid closure: half the blinking stills nearly shut, half part-way (frames inside a blink).
BLINK_CLOSURES = ((0.8, 1.0), (0.1, 0.8))


def speaking_still(spec: FaceSpec, index: int, split: str, seed: int, augmentation: SpeakingAugmentation) -> FaceSpec:
    """``spec`` (still ``index`` of the (split, seed) stream) with the augmentation's mouth and blink, if drawn."""
    if not augmentation.active or spec.kind not in augmentation.kinds:
        return spec
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], _STREAM_CODES["stills"], index, _AUGMENT_CODE])
    speaks, blinks = rng.random() < augmentation.speech_prob, rng.random() < augmentation.blink_prob
    mouth = random_speech_mouth(rng, augmentation.opening_range, augmentation.shape_range)
    shut, partway = BLINK_CLOSURES
    closure = float(rng.uniform(*shut) if rng.random() < 0.5 else rng.uniform(*partway))
    return dataclasses.replace(spec, speech_mouth=tuple(float(v) for v in mouth) if speaks else None,
                               blink=max(spec.blink, closure) if blinks else spec.blink)


# ----- clips --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipSpec:
    """One clip: an identity, its arc, and one FaceSpec per frame."""

    identity_seed: int
    arc_spec: str  # EmotionArc.parse(arc_spec, "mead8") gives the arc
    fps: float
    times: tuple[float, ...]
    frames: tuple[FaceSpec, ...]
    blinks: tuple[tuple[float, float], ...]  # (start, duration) in seconds


def _farthest(category: str) -> str:
    """The category whose VA prototype lies farthest from ``category``'s: its opposite."""
    others = [c for c in EXPRESSIVE if c != category]
    distances = [np.linalg.norm(prototype(c)[:2] - prototype(category)[:2]) for c in others]
    return others[int(np.argmax(distances))]


OPPOSITES: dict[str, str] = {c: _farthest(c) for c in EXPRESSIVE}


def random_arc_spec(rng: np.random.Generator, duration: float) -> str:
    """2-3 keyframes spread over ``duration``; each transition goes to the opposite half the time."""
    count = int(rng.integers(2, 4))
    # First keyframe early, last late, any middle one near the middle: every clip shows a change.
    windows = [(0.0, 0.25), (0.75, 1.0)] if count == 2 else [(0.0, 0.2), (0.4, 0.6), (0.8, 1.0)]
    times = [duration * rng.uniform(low, high) for low, high in windows]
    names = [CATEGORIES[rng.integers(len(CATEGORIES))]]
    for _ in range(count - 1):
        previous = names[-1]
        if previous != "neutral" and rng.random() < 0.5:
            names.append(OPPOSITES[previous])
        else:
            names.append(str(rng.choice([c for c in CATEGORIES if c != previous])))
    return " -> ".join(f"{name}:{_intensity(rng):.3f}@{time:.3f}" for name, time in zip(names, times))


def random_blinks(rng: np.random.Generator, duration: float) -> tuple[tuple[float, float], ...]:
    blinks, start = [], rng.uniform(*FIRST_BLINK)
    while start < duration:
        blinks.append((float(start), float(rng.uniform(*BLINK_DURATION))))
        start += rng.uniform(*BLINK_INTERVAL)
    return tuple(blinks)


def blink_closure(time: float, blinks: tuple[tuple[float, float], ...]) -> float:
    """Eyelid closure at ``time``: each blink closes and opens linearly, shut at its middle."""
    closure = 0.0
    for start, length in blinks:
        half = 0.5 * length
        closure = max(closure, 1.0 - abs(time - start - half) / half)
    return closure


class _HeadMotion:
    """Smooth head motion: per pose axis, a base offset plus two slow sinusoids (0.1-0.6 Hz)."""

    AMPLITUDES = {"yaw": 8.0, "roll": 5.0, "scale": 0.03, "x": 0.02, "y": 0.015}

    def __init__(self, rng: np.random.Generator) -> None:
        self.base = random_pose(rng)
        self.waves = {axis: (rng.uniform(0.1, 0.6, 2), rng.uniform(0.0, 2 * np.pi, 2), rng.uniform(0.3, 1.0, 2))
                      for axis in self.AMPLITUDES}

    def at(self, time: float) -> Pose:
        values = {}
        for axis, amplitude in self.AMPLITUDES.items():
            frequencies, phases, weights = self.waves[axis]
            wave = np.sum(weights * np.sin(2 * np.pi * frequencies * time + phases)) / np.sum(weights)
            values[axis] = getattr(self.base, axis) + 0.5 * amplitude * float(wave)
        return Pose(**values)


def clip_spec(index: int, split: str = "train", seed: int = 0, fps: float = DEFAULT_FPS,
              duration: float = DEFAULT_DURATION) -> ClipSpec:
    """Clip number ``index`` of the (split, seed) stream."""
    fps, duration = check_clip_timing(fps, duration)
    rng = _rng(seed, split, "clips", index)
    identity_seed = _identity_seed(rng, split)
    arc_spec = random_arc_spec(rng, duration)
    arc = EmotionArc.parse(arc_spec, CATEGORY_SET)
    blinks = random_blinks(rng, duration)
    motion = _HeadMotion(rng)
    times = tuple(float(t) for t in arc.frame_times(fps, duration))
    frames = tuple(
        FaceSpec(identity_seed, arc.at(t), "arc", motion.at(t), blink_closure(t, blinks)) for t in times
    )
    return ClipSpec(identity_seed, arc_spec, fps, times, frames, blinks)


def clip_samples(clip: ClipSpec, size: int, clip_number: int) -> list[EmotionSample]:
    return [
        frame.to_sample(size, {"clip": clip_number, "frame": k, "time": round(t, 6), "fps": clip.fps,
                               "blink": round(frame.blink, 4), "arc": clip.arc_spec})
        for k, (t, frame) in enumerate(zip(clip.times, clip.frames))
    ]


# ----- torch streams --------------------------------------------------------------------------------

class _EmoFacesStream(torch.utils.data.IterableDataset):
    """Items ``start .. start + n - 1`` (endless when ``n`` is None), dealt out in chunks to processes
    and DataLoader workers as the module docstring describes. ``rank``/``world_size`` default to the
    torch.distributed group, else to the RANK/WORLD_SIZE variables that ``accelerate launch`` and
    torchrun set, else to a single process."""

    def __init__(self, split: str, size: int, seed: int, n: int | None, start: int, chunk_size: int,
                 rank: int | None, world_size: int | None) -> None:
        super().__init__()
        self.split = check_split(split)
        self.size = check_size(size)
        self.seed = _check_int("seed", seed, 0, 2**63 - 1)
        self.n = None if n is None else _check_int("n", n, 0, 2**63 - 1)
        self.start = _check_int("start", start, 0, 2**63 - 1)
        self.chunk_size = _check_int("chunk_size", chunk_size, 1, 2**31)
        self.rank, self.world_size = rank, world_size

    def item(self, index: int) -> dict:
        raise NotImplementedError

    def shard(self) -> tuple[int, int, int, int]:
        """(rank, world_size, worker, num_workers) of the calling process and worker."""
        rank, world_size = self.rank, self.world_size
        if world_size is None:
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
            else:
                rank, world_size = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        rank = rank or 0
        if not 0 <= rank < world_size:
            raise EmotionError(f"rank must be in [0, {world_size - 1}] for world_size {world_size}, got {rank}")
        info = torch.utils.data.get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank, world_size, worker, num_workers

    def indices(self) -> Iterator[int]:
        """The item indices this process and worker yields, in order."""
        rank, world_size, worker, num_workers = self.shard()
        end = math.inf if self.n is None else self.start + self.n
        chunk = rank + world_size * worker
        while True:
            first = self.start + chunk * self.chunk_size
            if first >= end:
                return
            yield from range(first, int(min(first + self.chunk_size, end)))
            chunk += world_size * num_workers

    def __iter__(self) -> Iterator[dict]:
        for index in self.indices():
            yield self.item(index)


class EmoFacesStills(_EmoFacesStream):
    """Still faces as training tensors (see ``FaceSpec.to_tensors``), streamed and sharded.

    ``kinds`` weights the emotion kinds (default ``STILL_KINDS``; ``{"category": 1}`` gives single
    categories only). ``speaking`` (default None: plain stills) makes some stills speak and blink
    (``SpeakingAugmentation``). Each item also has ``index``, its number in the stream.
    """

    def __init__(self, split: str = "train", size: int = 64, seed: int = 0, n: int | None = None, start: int = 0,
                 kinds: Mapping[str, float] | None = None, chunk_size: int = 1, rank: int | None = None,
                 world_size: int | None = None, speaking: SpeakingAugmentation | None = None) -> None:
        super().__init__(split, size, seed, n, start, chunk_size, rank, world_size)
        self.kinds = check_kinds(kinds)
        if speaking is not None and not isinstance(speaking, SpeakingAugmentation):
            raise EmotionError(f"speaking must be a SpeakingAugmentation or None, got {type(speaking).__name__}")
        self.speaking = speaking

    def spec(self, index: int) -> FaceSpec:
        spec = still_spec(index, self.split, self.seed, self.kinds)
        if self.speaking is None:
            return spec
        return speaking_still(spec, index, self.split, self.seed, self.speaking)

    def item(self, index: int) -> dict:
        return {**self.spec(index).to_tensors(self.size), "index": torch.tensor(index, dtype=torch.long)}


class EmoFacesClips(_EmoFacesStream):
    """Clips as training tensors: every per-frame tensor of ``FaceSpec.to_tensors`` stacked over time
    (``pixel_values`` is frames x 3 x H x W), plus ``time`` (seconds) and ``index``."""

    def __init__(self, split: str = "train", size: int = 64, seed: int = 0, n: int | None = None, start: int = 0,
                 fps: float = DEFAULT_FPS, duration: float = DEFAULT_DURATION, chunk_size: int = 1,
                 rank: int | None = None, world_size: int | None = None) -> None:
        super().__init__(split, size, seed, n, start, chunk_size, rank, world_size)
        self.fps, self.duration = check_clip_timing(fps, duration)

    def spec(self, index: int) -> ClipSpec:
        return clip_spec(index, self.split, self.seed, self.fps, self.duration)

    def item(self, index: int) -> dict:
        clip = self.spec(index)
        frames = [frame.to_tensors(self.size) for frame in clip.frames]
        stacked = {key: torch.stack([f[key] for f in frames]) for key in frames[0] if key != "identity"}
        return {**stacked, "identity": frames[0]["identity"], "time": torch.tensor(clip.times, dtype=torch.float32),
                "index": torch.tensor(index, dtype=torch.long)}


# ----- export -----------------------------------------------------------------------------------------

def export_emofaces(n: int, size: int, out_dir: str | os.PathLike, clips: bool = False, split: str = "train",
                    seed: int = 0, fps: float = DEFAULT_FPS, duration: float = DEFAULT_DURATION,
                    overwrite: bool = False) -> Path:
    """Write ``n`` stills (or ``n`` clips, one row per frame) as an imagefolder at ``out_dir``.

    The folder appears complete or not at all (``schema.write_imagefolder``). Returns ``out_dir``.
    """
    n = _check_int("n", n, 1, MAX_EXPORT)
    size, split, seed = check_size(size), check_split(split), _check_int("seed", seed, 0, 2**63 - 1)
    if clips:
        fps, duration = check_clip_timing(fps, duration)
        samples = (sample for k in range(n)
                   for sample in clip_samples(clip_spec(k, split, seed, fps, duration), size, k))
    else:
        samples = (still_spec(k, split, seed).to_sample(size, {"index": k}) for k in range(n))
    return write_imagefolder(samples, out_dir, overwrite=overwrite)


# ----- captions ---------------------------------------------------------------------------------------

_HAIR_COLOR_NAMES = {
    "black": (28, 24, 24), "dark brown": (58, 40, 30), "brown": (104, 68, 40), "auburn": (138, 62, 36),
    "blond": (214, 178, 112), "light blond": (232, 206, 156), "grey": (168, 166, 164), "ginger": (186, 92, 44),
    "purple": (92, 64, 150), "blue": (54, 110, 170),
}
# (minimum luma, name), lightest first.
_SKIN_NAMES = ((217, "fair"), (200, "light"), (175, "light-medium"), (145, "medium"), (115, "olive-brown"),
               (88, "brown"), (0, "dark brown"))
_HUE_NAMES = ((15, "red"), (40, "orange"), (65, "yellow"), (160, "green"), (195, "teal"), (250, "blue"),
              (290, "purple"), (345, "pink"), (360, "red"))
_HAIRCUTS = {"short": "short {} hair", "long": "long {} hair", "bun": "{} hair in a bun",
             "curly": "curly {} hair", "bob": "{} hair in a bob", "bald": "a bald head"}


def describe_identity(identity: Identity) -> str:
    """A caption of what the identity looks like; it says nothing about the expression."""
    hair_color = min(_HAIR_COLOR_NAMES, key=lambda name: _distance(_HAIR_COLOR_NAMES[name], identity.hair_color))
    features = [_HAIRCUTS[identity.hair_style].format(hair_color), f"{_skin_name(identity.skin)} skin"]
    if identity.glasses:
        features.append(f"{identity.glasses} glasses")
    if identity.beard == "stubble":
        features.append("stubble")
    elif identity.beard == "full":
        features.append(f"a full {hair_color} beard")
    listed = ", ".join(features[:-1]) + " and " + features[-1]
    return (f"a cartoon portrait of a person with {listed}, wearing a {_color_name(identity.shirt)} shirt, "
            f"in front of a {_color_name(identity.background_top)} background")


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(np.sum((np.array(a, dtype=float) - np.array(b, dtype=float)) ** 2))


def _skin_name(rgb: tuple[int, int, int]) -> str:
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return next(name for threshold, name in _SKIN_NAMES if luma >= threshold)


def _color_name(rgb: tuple[int, int, int]) -> str:
    hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    if saturation < 0.12:
        return "white" if value > 0.85 else "grey" if value > 0.35 else "black"
    name = next(name for limit, name in _HUE_NAMES if hue * 360.0 < limit)
    if value < 0.45:
        return f"dark {name}"
    return f"pale {name}" if saturation < 0.32 and value > 0.75 else name


# ----- checks -------------------------------------------------------------------------------------------

def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise EmotionError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def check_size(size: object) -> int:
    return _check_int("size", size, *SIZE_RANGE)


def check_split(split: object) -> str:
    if split not in SPLITS:
        raise EmotionError(f"unknown EmoFaces split {split!r}; accepted: {', '.join(SPLITS)}")
    return str(split)


def check_kinds(kinds: Mapping[str, float] | None) -> dict[str, float]:
    kinds = dict(STILL_KINDS if kinds is None else kinds)
    unknown = [k for k in kinds if k not in STILL_KINDS]
    if unknown or not kinds:
        raise EmotionError(f"unknown EmoFaces still kinds {unknown or kinds}; accepted: {', '.join(STILL_KINDS)}")
    if not all(isinstance(w, (int, float)) and math.isfinite(w) and w >= 0 for w in kinds.values()) \
            or sum(kinds.values()) <= 0:
        raise EmotionError(f"still kind weights must be >= 0 with a positive sum, got {kinds}")
    return kinds


def check_clip_timing(fps: object, duration: object) -> tuple[float, float]:
    checked = []
    for name, value, (low, high) in (("fps", fps, FPS_RANGE), ("duration", duration, DURATION_RANGE)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise EmotionError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
        checked.append(float(value))
    return checked[0], checked[1]
