"""The emotion language: Emotion, category sets, arcs over time and the conditioning encoder."""
from emogen.emotion.arc import EmotionArc, Keyframe
from emogen.emotion.categories import CATEGORY_SETS, REGIONS, UNIVERSAL_CATEGORIES, CategorySet, get_set
from emogen.emotion.emotion import Emotion
from emogen.errors import EmotionError

__all__ = [
    "CATEGORY_SETS",
    "REGIONS",
    "UNIVERSAL_CATEGORIES",
    "CategorySet",
    "Emotion",
    "EmotionArc",
    "EmotionError",
    "Keyframe",
    "get_set",
]
