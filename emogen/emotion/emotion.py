"""`Emotion`: the one value every generator and scorer in emogen speaks."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from emogen.emotion.categories import (
    DEFAULT_SET,
    CategorySet,
    canonical_category,
    get_set,
    home_set,
    membership,
    mixture_to_vad,
    prototype,
    rollup_matrix,
)
from emogen.errors import EmotionError

# Mixture weights written by people ("0.6 joy + 0.4 surprise") may be off by rounding.
PROBABILITY_SUM_TOLERANCE = 0.02


def check_unit_range(name: str, value: float, low: float, high: float) -> float:
    """``value`` as a float in [low, high], or an EmotionError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EmotionError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise EmotionError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return number


def check_distribution(probs: Mapping[str, float], category_set: CategorySet) -> tuple[float, ...]:
    """Probabilities over ``category_set`` in its order; they must be >= 0 and sum to ~1."""
    unknown = [name for name in probs if name not in category_set]
    if unknown:
        raise EmotionError(
            f"categories {unknown} are not in set {category_set.name!r}; accepted: {', '.join(category_set.categories)}"
        )
    values = [check_unit_range(f"probability of {name!r}", p, 0.0, 1.0) for name, p in probs.items()]
    total = sum(values)
    if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
        raise EmotionError(
            f"category probabilities must sum to 1 (within {PROBABILITY_SUM_TOLERANCE}), got {total:.4g} "
            f"for {dict(probs)}"
        )
    # Renormalise only what is visibly off, so that stored values survive a JSON round trip bit for bit.
    scale = 1.0 / total if abs(total - 1.0) > 1e-9 else 1.0
    return tuple(float(probs.get(name, 0.0)) * scale for name in category_set.categories)


@dataclass(frozen=True)
class Emotion:
    """An emotion: a VAD point, a distribution over a named category set, and an intensity.

    valence, arousal, dominance are in [-1, 1]; ``probs`` is aligned with the set's categories and sums
    to 1; intensity is in [0, 1]. Build one with ``Emotion.parse``, ``from_category``, ``from_mixture``
    or ``from_vad``: they keep the point and the distribution consistent with each other.
    """

    valence: float
    arousal: float
    dominance: float
    intensity: float
    category_set: str
    probs: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("valence", "arousal", "dominance"):
            object.__setattr__(self, name, check_unit_range(name, getattr(self, name), -1.0, 1.0))
        object.__setattr__(self, "intensity", check_unit_range("intensity", self.intensity, 0.0, 1.0))
        category_set = get_set(self.category_set)
        object.__setattr__(self, "category_set", category_set.name)
        if len(self.probs) != len(category_set):
            raise EmotionError(
                f"{category_set.name} has {len(category_set)} categories, got {len(self.probs)} probabilities"
            )
        normalised = check_distribution(dict(zip(category_set.categories, self.probs)), category_set)
        object.__setattr__(self, "probs", normalised)

    # ----- constructors -------------------------------------------------------------------------
    @classmethod
    def from_mixture(
        cls, probs: Mapping[str, float], intensity: float = 1.0, category_set: str | None = None
    ) -> Emotion:
        """A mixture of named categories; its VAD point is the intensity-scaled mean of prototypes."""
        canonical: dict[str, float] = {}
        for word, weight in probs.items():
            name = canonical_category(word)
            canonical[name] = canonical.get(name, 0.0) + check_unit_range(f"weight of {word!r}", weight, 0.0, 1.0)
        home = home_set(list(canonical))
        target = get_set(category_set) if category_set else home
        intensity = check_unit_range("intensity", intensity, 0.0, 1.0)
        # Names outside the home set (e.g. "joy + awe") roll up into it, one category at a time.
        distribution = np.zeros(len(home))
        for name, weight in canonical.items():
            if name in home:
                distribution[home.index(name)] += weight
            else:
                distribution += weight * membership(prototype(name), home)
        home_probs = check_distribution(dict(zip(home.categories, distribution)), home)
        vad = intensity * mixture_to_vad(np.array(home_probs), home)
        emotion = cls(*_clip_vad(vad), intensity, home.name, home_probs)
        return emotion.to_set(target.name) if target.name != home.name else emotion

    @classmethod
    def from_category(cls, name: str, intensity: float = 1.0, category_set: str | None = None) -> Emotion:
        return cls.from_mixture({name: 1.0}, intensity=intensity, category_set=category_set)

    @classmethod
    def from_vad(
        cls,
        valence: float,
        arousal: float,
        dominance: float | None = None,
        intensity: float | None = None,
        category_set: str | None = None,
    ) -> Emotion:
        """A point in VAD space; its categories are the set's soft membership of the point.

        Without dominance, membership uses valence and arousal only and dominance is the
        membership-weighted prototype dominance. Without intensity, it is the point's distance from
        neutral relative to the membership-weighted distance of the categories' prototypes (capped at 1).
        """
        target = get_set(category_set or DEFAULT_SET)
        v = check_unit_range("valence", valence, -1.0, 1.0)
        a = check_unit_range("arousal", arousal, -1.0, 1.0)
        if dominance is None:
            probs = membership(np.array([v, a, 0.0]), target, use_dominance=False)
            d = float(np.clip(mixture_to_vad(probs, target)[2], -1.0, 1.0))
        else:
            d = check_unit_range("dominance", dominance, -1.0, 1.0)
            probs = membership(np.array([v, a, d]), target)
        if intensity is None:
            intensity = _intensity_of_point(np.array([v, a, d]), probs, target)
        return cls(v, a, d, intensity, target.name, tuple(float(p) for p in probs))

    @classmethod
    def neutral(cls, category_set: str = DEFAULT_SET) -> Emotion:
        target = get_set(category_set)
        if "neutral" in target:
            return cls.from_category("neutral", category_set=target.name)
        return cls.from_vad(0.0, 0.0, 0.0, intensity=0.0, category_set=target.name)

    @classmethod
    def parse(cls, spec: str | Mapping | Emotion, category_set: str | None = None) -> Emotion:
        """Parse any emotion spec: 'joy', 'joy:0.8', '0.6 joy + 0.4 surprise', 'v=0.7,a=0.4', JSON."""
        from emogen.emotion.parse import parse_emotion

        return parse_emotion(spec, category_set)

    # ----- views --------------------------------------------------------------------------------
    @property
    def categories(self) -> dict[str, float]:
        """Category name -> probability, in the set's order."""
        return dict(zip(get_set(self.category_set).categories, self.probs))

    @property
    def vad(self) -> tuple[float, float, float]:
        return (self.valence, self.arousal, self.dominance)

    @property
    def top(self) -> str:
        """The most likely category."""
        return get_set(self.category_set).categories[int(np.argmax(self.probs))]

    def to_set(self, name: str) -> Emotion:
        """The same emotion over another category set (roll-up); the VAD point is kept."""
        target = get_set(name)
        if target.name == self.category_set:
            return self
        probs = np.array(self.probs) @ rollup_matrix(get_set(self.category_set), target)
        return Emotion(self.valence, self.arousal, self.dominance, self.intensity, target.name, tuple(probs))

    def with_intensity(self, intensity: float) -> Emotion:
        """The same category mixture at another intensity (the VAD point scales with it)."""
        intensity = check_unit_range("intensity", intensity, 0.0, 1.0)
        if self.intensity > 0:
            vad = np.array(self.vad) * (intensity / self.intensity)
        else:
            vad = intensity * mixture_to_vad(np.array(self.probs), get_set(self.category_set))
        return Emotion(*_clip_vad(vad), intensity, self.category_set, self.probs)

    def to_dict(self) -> dict:
        return {
            "valence": self.valence,
            "arousal": self.arousal,
            "dominance": self.dominance,
            "intensity": self.intensity,
            "category_set": self.category_set,
            "categories": self.categories,
            "top": self.top,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Emotion:
        """Inverse of ``to_dict``; also accepts partial dicts (categories only, or VAD only)."""
        from emogen.emotion.parse import emotion_from_mapping

        return emotion_from_mapping(data, None)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Emotion:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            raise EmotionError(f"not valid emotion JSON: {err}") from None
        if not isinstance(data, Mapping):
            raise EmotionError(f"emotion JSON must be an object, got {type(data).__name__}")
        return cls.from_dict(data)

    def __str__(self) -> str:
        mix = " + ".join(f"{p:.2f} {n}" for n, p in self.categories.items() if p >= 0.01)
        return f"Emotion({mix}; v={self.valence:+.2f} a={self.arousal:+.2f} d={self.dominance:+.2f} i={self.intensity:.2f})"


def _clip_vad(vad: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(x) for x in np.clip(vad, -1.0, 1.0))  # type: ignore[return-value]


def _intensity_of_point(vad: np.ndarray, probs: np.ndarray, category_set: CategorySet) -> float:
    """Distance from neutral relative to the membership-weighted prototype distance.

    Weighting by membership (rather than dividing by the top category's prototype) keeps intensity a
    continuous function of the point: it does not jump where the top category changes.
    """
    norms = np.array([np.linalg.norm(prototype(name)) for name in category_set.categories])
    emotional = norms > 0  # neutral, at the origin, has no scale of its own
    weights = probs * emotional
    scale = float(weights @ norms / weights.sum()) if weights.sum() > 1e-12 else 1.0
    return float(min(1.0, np.linalg.norm(vad) / scale))
