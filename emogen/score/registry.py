"""Scorers by name. Each scorer has ``name``, ``category_set`` and ``score(media) -> EmotionEstimate``."""
from __future__ import annotations

import importlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from emogen.errors import EmotionError
from emogen.io import Media
from emogen.score.estimate import EmotionEstimate

# name -> (module, class); imported on first use so that each scorer's heavy dependencies load only when needed.
SCORERS = {
    "emofaces": ("emogen.score.emofaces", "EmoFacesScorer"),
    "fer2013": ("emogen.score.photo", "FerScorer"),
    "blendshape": ("emogen.score.blendshape", "BlendshapeScorer"),
}
DEFAULT_SCORER = "emofaces"

# Where `make bench` records each scorer's measured accuracy (bench/bench_scorers.py).
MEASURED_ACCURACY_FILE = Path(__file__).resolve().parents[2] / "bench" / "results" / "scorer_accuracy.json"


class Scorer(Protocol):
    name: str
    category_set: str

    def score(self, media: Media) -> EmotionEstimate: ...


@lru_cache(maxsize=None)
def get_scorer(name: str) -> Scorer:
    if name not in SCORERS:
        raise EmotionError(f"unknown scorer {name!r}; accepted: {', '.join(SCORERS)}")
    module_name, class_name = SCORERS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise EmotionError(f"scorer {name!r} needs an optional dependency ({err.name}): pip install 'emogen[faces]'") from err
    return getattr(module, class_name)()


def measured_accuracy(name: str) -> dict | None:
    """The scorer's own accuracy as last measured by `make bench` (None if never measured)."""
    try:
        return json.loads(MEASURED_ACCURACY_FILE.read_text()).get(name)
    except (OSError, json.JSONDecodeError):
        return None
