"""`ProsodyPlan`: how each word of a text should be spoken, derived from an Emotion or an EmotionArc.

A plan is engine independent: values are relative to the voice's own neutral delivery (semitones of
F0, dB of level, factors of rate and pitch range), so any engine plus the post-processor can realise
it. Plans are plain JSON that people edit; ``from_dict`` checks every value and names the bad one.

JSON layout (``to_dict``):
    {"version": 1, "text": "...", "emotion": {...source spec...},
     "utterance": {pitch_semitones, pitch_range, rate, energy_db, pause, breathiness, jitter, tension_db},
     "words": [{"word": "Hello", "start_s": 0.0, "pause_after_s": 0.2, <any cue that differs from utterance>}]}
``utterance`` holds the defaults; a word lists only the cues in which it differs. A plan without
"words" gets one entry per word of its text, with the utterance values.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.io import write_json_atomic
from emogen.speech.cues import MULTIPLICATIVE, ProsodyCues, cues_for
from emogen.speech.text import Word, check_text, split_words

PLAN_VERSION = 1
# Neutral pauses at punctuation (seconds), scaled by the emotion's pause factor: a typical reading pace.
BASE_PAUSE_S = {"sentence": 0.45, "clause": 0.2, "": 0.0}
# Speaking time per character at neutral rate (about 170 words per minute), used to place arc keyframes
# on words when the engine's own neutral word durations are not given.
NOMINAL_SECONDS_PER_CHAR = 1.0 / 14.0
# Accepted ranges: wide enough for strong acted emotion, narrow enough that post-processing stays clean.
LIMITS: dict[str, tuple[float, float]] = {
    "pitch_semitones": (-12.0, 12.0),
    "pitch_range": (0.0, 3.0),
    "rate": (0.5, 2.0),
    "energy_db": (-20.0, 12.0),
    "pause": (0.0, 4.0),
    "breathiness": (0.0, 1.0),
    "jitter": (0.0, 1.0),
    "tension_db": (-12.0, 12.0),
    "pause_after_s": (0.0, 3.0),
    "start_s": (0.0, math.inf),
}
CUE_NAMES = tuple(f.name for f in fields(ProsodyCues))
# Per word the pause is given in seconds (pause_after_s), so the utterance's pause factor is not repeated there.
WORD_CUE_NAMES = tuple(name for name in CUE_NAMES if name != "pause")


@dataclass(frozen=True)
class WordPlan:
    word: str
    cues: ProsodyCues
    pause_after_s: float
    start_s: float  # planned start, informational (where an arc's keyframes fall)


@dataclass(frozen=True)
class ProsodyPlan:
    text: str
    utterance: ProsodyCues
    words: tuple[WordPlan, ...]
    emotion: dict | None = None  # the spec the plan came from (Emotion or EmotionArc as a dict)

    # ----- construction ---------------------------------------------------------------------------
    @classmethod
    def from_emotion(cls, text: str, emotion: Emotion) -> ProsodyPlan:
        return cls.from_arc(text, EmotionArc.constant(emotion))

    @classmethod
    def from_arc(cls, text: str, arc: EmotionArc, word_durations: Sequence[float] | None = None) -> ProsodyPlan:
        """One WordPlan per word, each with the cues of the arc at the time the word starts.

        Start times accumulate the planned durations (neutral duration / rate, plus pauses), so a
        keyframe at 3 s falls on the word spoken 3 s into the *rendered* audio. ``word_durations``
        are the engine's neutral durations per word; without them, a nominal time per character.
        """
        words = split_words(check_text(text))
        durations = _neutral_durations(words, word_durations)
        planned, time = [], 0.0
        for word, duration in zip(words, durations):
            cues = cues_for(arc.at(time))
            pause = BASE_PAUSE_S[word.boundary] * cues.pause
            planned.append(WordPlan(word.text, cues, pause, round(time, 3)))
            time += duration / cues.rate + pause
        source = arc.keyframes[0].emotion.to_dict() if len(arc.keyframes) == 1 else arc.to_dict()
        return cls(text, _summary([w.cues for w in planned]), tuple(planned), source)

    @classmethod
    def for_text(cls, text: str, spec: str | Emotion | EmotionArc, word_durations: Sequence[float] | None = None) -> ProsodyPlan:
        """A plan from any emotion or arc spec ('joy:0.8', 'joy@0 -> sadness@3', an Emotion, an EmotionArc)."""
        return cls.from_arc(text, EmotionArc.parse(spec), word_durations)

    # ----- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        utterance = {name: round(value, 4) for name, value in asdict(self.utterance).items()}
        words = []
        for word in self.words:
            entry = {"word": word.word, "start_s": word.start_s, "pause_after_s": round(word.pause_after_s, 4)}
            for name in WORD_CUE_NAMES:
                value = round(getattr(word.cues, name), 4)
                if abs(value - utterance[name]) > 1e-4:
                    entry[name] = value
            words.append(entry)
        return {"version": PLAN_VERSION, "text": self.text, "emotion": self.emotion, "utterance": utterance, "words": words}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def save(self, path: str | Path) -> Path:
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping) -> ProsodyPlan:
        if not isinstance(data, Mapping):
            raise EmotionError(f"a prosody plan must be a JSON object, got {type(data).__name__}")
        _check_keys("plan", data, {"version", "text", "emotion", "utterance", "words"})
        if data.get("version", PLAN_VERSION) != PLAN_VERSION:
            raise EmotionError(f"plan version {data.get('version')!r} is not supported; accepted: {PLAN_VERSION}")
        text = check_text(data.get("text"))
        utterance_data = data.get("utterance", {})
        if not isinstance(utterance_data, Mapping):
            raise EmotionError("plan 'utterance' must be an object of cue values")
        _check_keys("plan utterance", utterance_data, set(CUE_NAMES))
        utterance = ProsodyCues(**{k: _value(f"utterance {k}", k, v) for k, v in utterance_data.items()})
        source_words = split_words(text)
        raw_words = data.get("words")
        if raw_words is None:
            return cls._uniform(text, source_words, utterance, data.get("emotion"))
        if not isinstance(raw_words, Sequence) or isinstance(raw_words, str):
            raise EmotionError("plan 'words' must be a list of objects like {'word': 'Hello', 'pitch_semitones': 2}")
        if len(raw_words) != len(source_words):
            raise EmotionError(
                f"plan has {len(raw_words)} words but its text has {len(source_words)} "
                f"({' '.join(w.text for w in source_words)[:80]!r}); edit the words, not their number"
            )
        words = tuple(_word_from_dict(i, item, source, utterance) for i, (item, source) in enumerate(zip(raw_words, source_words)))
        return cls(text, utterance, words, data.get("emotion"))

    @classmethod
    def from_json(cls, text: str) -> ProsodyPlan:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            raise EmotionError(f"not a valid prosody plan JSON: {err}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> ProsodyPlan:
        path = Path(path)
        if not path.is_file():
            raise EmotionError(f"plan file {path} does not exist")
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as err:
            raise EmotionError(f"plan file {path} is not UTF-8 text ({err})") from None

    @classmethod
    def _uniform(cls, text: str, source_words: tuple[Word, ...], utterance: ProsodyCues, emotion) -> ProsodyPlan:
        words, time = [], 0.0
        for word, duration in zip(source_words, _neutral_durations(source_words, None)):
            pause = BASE_PAUSE_S[word.boundary] * utterance.pause
            words.append(WordPlan(word.text, utterance, pause, round(time, 3)))
            time += duration / utterance.rate + pause
        return cls(text, utterance, tuple(words), emotion)


def _neutral_durations(words: tuple[Word, ...], given: Sequence[float] | None) -> list[float]:
    if given is None:
        return [len(w.text) * NOMINAL_SECONDS_PER_CHAR for w in words]
    if len(given) != len(words):
        raise EmotionError(f"got {len(given)} word durations for {len(words)} words")
    return [float(d) for d in given]


def _summary(cues: list[ProsodyCues]) -> ProsodyCues:
    """The utterance's typical cues: the mean over words (geometric for factors)."""
    values = {}
    for name in CUE_NAMES:
        column = np.array([getattr(c, name) for c in cues])
        values[name] = float(np.exp(np.mean(np.log(column)))) if name in MULTIPLICATIVE else float(column.mean())
    return ProsodyCues(**values)


def _check_keys(where: str, data: Mapping, accepted: set[str]) -> None:
    unknown = sorted(set(data) - accepted)
    if unknown:
        raise EmotionError(f"{where} has unknown keys {unknown}; accepted: {', '.join(sorted(accepted))}")


def _value(where: str, name: str, value) -> float:
    low, high = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise EmotionError(f"{where} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _word_from_dict(index: int, item, source: Word, utterance: ProsodyCues) -> WordPlan:
    if not isinstance(item, Mapping):
        raise EmotionError(f"plan word {index} must be an object like {{'word': {source.text!r}}}, got {item!r}")
    _check_keys(f"plan word {index}", item, {"word", "start_s", "pause_after_s", *WORD_CUE_NAMES})
    if item.get("word", source.text) != source.text:
        raise EmotionError(
            f"plan word {index} is {item.get('word')!r} but the text has {source.text!r} there; "
            "change 'text' and the words together"
        )
    overrides = {name: _value(f"plan word {index} ({source.text!r}) {name}", name, item[name]) for name in WORD_CUE_NAMES if name in item}
    pause = item.get("pause_after_s", BASE_PAUSE_S[source.boundary] * utterance.pause)
    start = item.get("start_s", 0.0)
    return WordPlan(
        source.text,
        replace(utterance, **overrides),
        _value(f"plan word {index} ({source.text!r}) pause_after_s", "pause_after_s", pause),
        _value(f"plan word {index} ({source.text!r}) start_s", "start_s", start),
    )
