"""Named emotion categories, the category sets that research data uses, and their places in VAD space.

Every category is a region of valence-arousal-dominance (VAD) space: an axis-aligned Gaussian around a
prototype point. That one idea gives all conversions: a category (or a mixture) maps to a VAD point
(its prototype, or the weighted mean of prototypes), and a VAD point maps to a soft membership over any
set (Bayes' rule with equal priors).

Prototype sources (all on the [-1, 1] PAD scale):
- Russell, J. A. & Mehrabian, A. (1977). Evidence for a three-factor theory of emotions. Journal of
  Research in Personality 11(3), 273-294: mean pleasure/arousal/dominance ratings of emotion terms.
  The values for Ekman's six basic emotions are as tabulated from it in Buechel, S. & Hahn, U. (2016).
  Emotion analysis as a regression problem. ECAI 2016, Table 1. For sadness we use arousal -0.27
  (low arousal), the side of the circumplex that sadness sits on in Russell, J. A. (1980), A circumplex
  model of affect, JPSP 39(6), 1161-1178.
- "excited" (0.62, 0.75, 0.38) from Russell & Mehrabian (1977) for Mikels' excitement.
- Contempt, amusement, awe and contentment have no entry in those tables. We place them by hand from
  their published descriptions (contempt: negative, mildly aroused, dominant - Mehrabian, A. (1995),
  Framework for a comprehensive description and measurement of emotional states, Genetic, Social, and
  General Psychology Monographs 121, 339-361; Mikels' positive categories: Mikels, J. A. et al. (2005),
  Emotional category data on images from the International Affective Picture System, Behavior Research
  Methods 37(4), 626-630, with awe as positive, aroused and submissive and contentment as positive and
  calm). These four are approximations and marked so below.
- Neutral is the origin by definition.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from emogen.errors import EmotionError


@dataclass(frozen=True)
class CategoryRegion:
    """One category as a Gaussian region in VAD space."""

    name: str
    prototype: tuple[float, float, float]  # (valence, arousal, dominance)
    spread: tuple[float, float, float]  # standard deviation per axis
    source: str


# Dominance is rated less reliably than valence and arousal, so its regions are wider.
_SPREAD = (0.28, 0.28, 0.4)
_NEUTRAL_SPREAD = (0.22, 0.22, 0.4)

REGIONS: dict[str, CategoryRegion] = {
    r.name: r
    for r in [
        CategoryRegion("neutral", (0.0, 0.0, 0.0), _NEUTRAL_SPREAD, "origin by definition"),
        CategoryRegion("joy", (0.76, 0.48, 0.35), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("sadness", (-0.63, -0.27, -0.33), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("anger", (-0.43, 0.67, 0.34), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("fear", (-0.64, 0.60, -0.43), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("disgust", (-0.60, 0.35, 0.11), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("surprise", (0.40, 0.67, -0.13), _SPREAD, "Russell & Mehrabian 1977 via Buechel & Hahn 2016"),
        CategoryRegion("contempt", (-0.55, 0.20, 0.60), _SPREAD, "approximate, after Mehrabian 1995"),
        CategoryRegion("excitement", (0.62, 0.75, 0.38), _SPREAD, "Russell & Mehrabian 1977 ('excited')"),
        CategoryRegion("amusement", (0.70, 0.35, 0.25), _SPREAD, "approximate, after Mikels et al. 2005"),
        CategoryRegion("awe", (0.50, 0.55, -0.40), _SPREAD, "approximate, after Mikels et al. 2005"),
        CategoryRegion("contentment", (0.65, -0.40, 0.20), _SPREAD, "approximate, after Mikels et al. 2005"),
    ]
}


@dataclass(frozen=True)
class CategorySet:
    """An ordered, named list of categories, as a dataset or model uses them."""

    name: str
    categories: tuple[str, ...]
    description: str

    def index(self, category: str) -> int:
        return self.categories.index(category)

    def __len__(self) -> int:
        return len(self.categories)

    def __contains__(self, category: object) -> bool:
        return category in self.categories


CATEGORY_SETS: dict[str, CategorySet] = {
    s.name: s
    for s in [
        CategorySet(
            "ekman7",
            ("neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise"),
            "Ekman's six basic emotions plus neutral (FER2013, AffectNet-7)",
        ),
        CategorySet(
            "mead8",
            ("neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise", "contempt"),
            "MEAD / AffectNet-8: Ekman-7 plus contempt",
        ),
        CategorySet(
            "mikels8",
            ("amusement", "awe", "contentment", "excitement", "anger", "disgust", "fear", "sadness"),
            "Mikels et al. 2005, used by EmoSet, EmoGen and EmoVid",
        ),
    ]
}

# When no set is asked for, a spec lands in the first of these that holds all of its categories.
SET_PREFERENCE = ("ekman7", "mead8", "mikels8")
DEFAULT_SET = "ekman7"

# Every category any set uses, in one fixed order: the layout of mixture vectors in the encoder.
UNIVERSAL_CATEGORIES: tuple[str, ...] = tuple(REGIONS)

_SET_ALIASES = {
    "ekman7": "ekman7", "ekman": "ekman7", "ekman-7": "ekman7", "ekman_7": "ekman7", "fer2013": "ekman7",
    "mead8": "mead8", "mead": "mead8", "mead-8": "mead8", "mead_8": "mead8", "affectnet8": "mead8",
    "mikels8": "mikels8", "mikels": "mikels8", "mikels-8": "mikels8", "mikels_8": "mikels8", "emoset": "mikels8",
}

# Words people use for each category. Keys are lower-case.
SYNONYMS: dict[str, str] = {}
for _canonical, _words in {
    "neutral": ["neutral", "none", "blank", "expressionless", "neutrality"],
    "joy": ["joy", "happy", "happiness", "joyful", "glad", "cheerful", "delighted", "delight", "pleased"],
    "sadness": ["sadness", "sad", "sorrow", "sorrowful", "unhappy", "grief", "melancholy", "gloomy"],
    "anger": ["anger", "angry", "mad", "rage", "furious", "annoyed", "irritated", "fury"],
    "fear": ["fear", "afraid", "scared", "fearful", "terrified", "frightened", "terror"],
    "disgust": ["disgust", "disgusted", "revulsion", "repulsed", "grossed-out"],
    "surprise": ["surprise", "surprised", "astonished", "astonishment", "startled", "shocked"],
    "contempt": ["contempt", "contemptuous", "scorn", "scornful", "disdain", "disdainful"],
    "excitement": ["excitement", "excited", "thrilled", "enthusiastic", "elated"],
    "amusement": ["amusement", "amused", "funny", "fun", "playful"],
    "awe": ["awe", "awed", "awestruck", "wonder", "amazed", "amazement"],
    "contentment": ["contentment", "content", "contented", "serene", "peaceful", "relaxed", "calm"],
}.items():
    for _word in _words:
        SYNONYMS[_word] = _canonical


def get_set(name: str) -> CategorySet:
    """The category set called ``name`` (aliases such as 'ekman', 'emoset' accepted)."""
    key = str(name).strip().lower()
    if key not in _SET_ALIASES:
        raise EmotionError(
            f"unknown category set {name!r}; accepted: {', '.join(CATEGORY_SETS)} "
            f"(aliases: {', '.join(sorted(k for k in _SET_ALIASES if k not in CATEGORY_SETS))})"
        )
    return CATEGORY_SETS[_SET_ALIASES[key]]


def canonical_category(word: str) -> str:
    """The category a word names ('happy' -> 'joy'); suggests the nearest names when unknown."""
    key = str(word).strip().lower()
    if key in SYNONYMS:
        return SYNONYMS[key]
    close = difflib.get_close_matches(key, list(SYNONYMS), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise EmotionError(
        f"unknown emotion category {word!r}{hint} Accepted categories: {', '.join(UNIVERSAL_CATEGORIES)} "
        "(and common synonyms such as happy, sad, angry, scared)"
    )


def home_set(categories: list[str] | tuple[str, ...]) -> CategorySet:
    """The preferred set that holds all of ``categories`` (Ekman-7 when none holds them all)."""
    for name in SET_PREFERENCE:
        if all(c in CATEGORY_SETS[name] for c in categories):
            return CATEGORY_SETS[name]
    return CATEGORY_SETS[DEFAULT_SET]


def _gaussian_params(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    means = np.array([REGIONS[n].prototype for n in names], dtype=np.float64)
    spreads = np.array([REGIONS[n].spread for n in names], dtype=np.float64)
    return means, spreads


def prototype(category: str) -> np.ndarray:
    """The VAD prototype of a canonical category name."""
    return np.array(REGIONS[category].prototype, dtype=np.float64)


def membership(vad: np.ndarray, category_set: CategorySet, use_dominance: bool = True) -> np.ndarray:
    """Soft membership of a VAD point over a set: p(category | point), equal priors.

    With ``use_dominance=False`` only valence and arousal count (for points given without dominance).
    Computed in log space so that far-away points still get a well-defined (peaked) distribution.
    """
    means, spreads = _gaussian_params(category_set.categories)
    axes = slice(0, 3) if use_dominance else slice(0, 2)
    z = (np.asarray(vad, dtype=np.float64)[axes] - means[:, axes]) / spreads[:, axes]
    log_density = -0.5 * np.sum(z * z, axis=1) - np.sum(np.log(spreads[:, axes]), axis=1)
    log_density -= log_density.max()
    p = np.exp(log_density)
    return p / p.sum()


def mixture_to_vad(probs: np.ndarray, category_set: CategorySet) -> np.ndarray:
    """The VAD point of a mixture: the probability-weighted mean of the prototypes."""
    means, _ = _gaussian_params(category_set.categories)
    return np.asarray(probs, dtype=np.float64) @ means


def rollup_matrix(source: CategorySet, target: CategorySet) -> np.ndarray:
    """A row-stochastic matrix taking distributions over ``source`` to distributions over ``target``.

    A category that the target also has maps to itself; any other maps to the target's soft
    membership of its prototype (e.g. Mikels' amusement -> mostly joy in Ekman-7, contempt -> disgust
    and anger). One rule for every pair of sets, so no hand-written tables drift apart.
    """
    matrix = np.zeros((len(source), len(target)))
    for i, name in enumerate(source.categories):
        if name in target:
            matrix[i, target.index(name)] = 1.0
        else:
            matrix[i] = membership(prototype(name), target)
    return matrix
