"""What every scorer returns: one measured emotion for one piece of media."""
from __future__ import annotations

from dataclasses import dataclass, field

from emogen.emotion.categories import prototype


@dataclass(frozen=True)
class EmotionEstimate:
    """A scorer's reading of one media item.

    ``probs`` is a distribution over the scorer's own category names (it sums to 1);
    ``valence`` and ``arousal`` are in [-1, 1]; ``confidence`` in [0, 1] is the scorer's
    own belief in its reading (for classifiers: the top probability, times the face
    detector's confidence where there is one). ``notes`` carries warnings such as
    "3 faces found, scored the largest".
    """

    probs: dict[str, float]
    valence: float
    arousal: float
    confidence: float
    scorer: str
    notes: tuple[str, ...] = field(default=())

    @property
    def top1(self) -> str:
        return max(self.probs, key=self.probs.get)

    def to_dict(self) -> dict:
        return {
            "scorer": self.scorer,
            "top1": self.top1,
            "probs": dict(self.probs),
            "valence": self.valence,
            "arousal": self.arousal,
            "confidence": self.confidence,
            "notes": list(self.notes),
        }


def expected_va(probs: dict[str, float]) -> tuple[float, float]:
    """Valence and arousal of a category distribution: the probability-weighted prototypes."""
    valence = sum(p * prototype(name)[0] for name, p in probs.items())
    arousal = sum(p * prototype(name)[1] for name, p in probs.items())
    return float(valence), float(arousal)
