"""Parsing emotion specs written by people.

Accepted forms (case-insensitive, white space free):
    joy                       a category or synonym ('happy', 'happiness')
    joy:0.8                   with intensity in [0, 1]
    0.6 joy + 0.4 surprise    a mixture (weights sum to ~1; '60% joy', '0.6*joy' too)
    joy + surprise            equal weights
    v=0.7,a=0.4               a valence-arousal point; d=, i= (dominance, intensity) optional
    {"valence": ...}          JSON, as written by Emotion.to_json
"""
from __future__ import annotations

import json
import re
from typing import Mapping

from emogen.emotion.categories import get_set
from emogen.emotion.emotion import Emotion, check_unit_range
from emogen.errors import EmotionError

MAX_SPEC_LENGTH = 2000

_TERM = re.compile(
    r"""^\s*
    (?:(?P<weight>\d+(?:\.\d*)?|\.\d+)\s*(?P<percent>%)?\s*\*?\s*)?   # optional weight
    (?P<name>[a-z][a-z_\-]*)                                          # category word
    \s*(?::\s*(?P<intensity>\S+))?                                    # optional :intensity
    \s*$""",
    re.VERBOSE,
)

_VAD_KEYS = {
    "v": "valence", "val": "valence", "valence": "valence",
    "a": "arousal", "aro": "arousal", "arousal": "arousal",
    "d": "dominance", "dom": "dominance", "dominance": "dominance",
    "i": "intensity", "intensity": "intensity",
}


def parse_emotion(spec: str | Mapping | Emotion, category_set: str | None = None) -> Emotion:
    """Any accepted spec -> Emotion (over ``category_set`` when given). Raises only EmotionError."""
    if isinstance(spec, Emotion):
        return spec.to_set(category_set) if category_set else spec
    if isinstance(spec, Mapping):
        return emotion_from_mapping(spec, category_set)
    if not isinstance(spec, str):
        raise EmotionError(f"an emotion spec must be a string or a mapping, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise EmotionError("empty emotion spec; write e.g. 'joy', 'joy:0.8', '0.6 joy + 0.4 surprise' or 'v=0.7,a=0.4'")
    if len(text) > MAX_SPEC_LENGTH:
        raise EmotionError(f"emotion spec is {len(text)} characters long; at most {MAX_SPEC_LENGTH} accepted")
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as err:
            raise EmotionError(f"emotion spec looks like JSON but is not valid: {err}") from None
        if not isinstance(data, Mapping):
            raise EmotionError("emotion JSON must be an object")
        return emotion_from_mapping(data, category_set)
    if "=" in text:
        return _parse_vad(text, category_set)
    return _parse_mixture(text.lower(), category_set)


def _parse_number(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise EmotionError(f"{what} must be a number, got {text!r}") from None


def _parse_vad(text: str, category_set: str | None) -> Emotion:
    values: dict[str, float] = {}
    for item in filter(None, re.split(r"[,\s;]+", text)):
        key, sep, raw = item.partition("=")
        key = key.strip().lower()
        if not sep or key not in _VAD_KEYS:
            raise EmotionError(
                f"bad item {item!r} in {text!r}; write key=value with keys v (valence), a (arousal), "
                "d (dominance, optional), i (intensity, optional), e.g. 'v=0.7,a=0.4'"
            )
        field = _VAD_KEYS[key]
        if field in values:
            raise EmotionError(f"{field} given twice in {text!r}")
        values[field] = _parse_number(raw, field)
    missing = [name for name in ("valence", "arousal") if name not in values]
    if missing:
        raise EmotionError(f"{' and '.join(missing)} missing in {text!r}; write e.g. 'v=0.7,a=0.4'")
    return Emotion.from_vad(
        values["valence"], values["arousal"], values.get("dominance"), values.get("intensity"), category_set
    )


def _parse_mixture(text: str, category_set: str | None) -> Emotion:
    terms = text.split("+")
    weights: dict[str, float] = {}
    intensities: dict[str, float] = {}
    unweighted = 0
    for term in terms:
        match = _TERM.match(term)
        if not match:
            raise EmotionError(
                f"cannot read {term.strip()!r} in {text!r}; accepted: 'joy', 'joy:0.8', "
                "'0.6 joy + 0.4 surprise', 'v=0.7,a=0.4'"
            )
        name = match["name"]
        if name in weights:
            raise EmotionError(f"category {name!r} appears twice in {text!r}")
        if match["weight"] is None:
            unweighted += 1
            weight = float("nan")
        else:
            weight = float(match["weight"]) / (100.0 if match["percent"] else 1.0)
        weights[name] = weight
        if match["intensity"] is not None:
            intensities[name] = check_unit_range(
                f"intensity of {name!r}", _parse_number(match["intensity"], f"intensity of {name!r}"), 0.0, 1.0
            )
    if unweighted and unweighted != len(weights):
        raise EmotionError(f"give weights to all terms or to none in {text!r}, e.g. '0.6 joy + 0.4 surprise'")
    if unweighted:
        weights = {name: 1.0 / len(weights) for name in weights}
    # A mixture's intensity is the weighted mean of its terms' intensities (1 where unspecified).
    intensity = sum(w * intensities.get(name, 1.0) for name, w in weights.items())
    intensity = min(1.0, max(0.0, intensity))
    return Emotion.from_mixture(weights, intensity=intensity, category_set=category_set)


def emotion_from_mapping(data: Mapping, category_set: str | None) -> Emotion:
    """A dict as written by ``Emotion.to_dict`` (or a subset of it) -> Emotion."""
    accepted = {"valence", "arousal", "dominance", "intensity", "category_set", "categories", "top"}
    unknown = sorted(str(k) for k in data if k not in accepted)
    if unknown:
        raise EmotionError(f"unknown emotion fields {unknown}; accepted: {', '.join(sorted(accepted))}")
    categories = data.get("categories")
    if categories is not None and not isinstance(categories, Mapping):
        raise EmotionError(f"'categories' must map category names to probabilities, got {categories!r}")
    has_point = "valence" in data or "arousal" in data
    if categories and has_point:
        # A full record: keep its exact numbers (so JSON round-trips bit for bit).
        own_set = get_set(data.get("category_set", category_set or "ekman7"))
        emotion = Emotion(
            data.get("valence"),
            data.get("arousal"),
            data.get("dominance", 0.0),
            data.get("intensity", 1.0),
            own_set.name,
            tuple(_probability(categories, name) for name in own_set.categories),
        )
        _check_names(categories, own_set.categories)
    elif categories:
        emotion = Emotion.from_mixture(categories, data.get("intensity", 1.0), data.get("category_set"))
    elif has_point:
        if "valence" not in data or "arousal" not in data:
            raise EmotionError("an emotion point needs both 'valence' and 'arousal'")
        emotion = Emotion.from_vad(
            data["valence"], data["arousal"], data.get("dominance"), data.get("intensity"), data.get("category_set")
        )
    else:
        raise EmotionError("an emotion mapping needs 'categories' or 'valence' and 'arousal'")
    return emotion.to_set(category_set) if category_set else emotion


def _probability(categories: Mapping, name: str) -> float:
    value = categories.get(name, 0.0)
    return check_unit_range(f"probability of {name!r}", value, 0.0, 1.0)


def _check_names(categories: Mapping, accepted: tuple[str, ...]) -> None:
    unknown = [name for name in categories if name not in accepted]
    if unknown:
        raise EmotionError(f"categories {unknown} are not in the set; accepted: {', '.join(accepted)}")
