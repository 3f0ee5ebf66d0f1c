"""Face rig: ARKit's 52 blendshapes, their FACS action units, and Emotion -> blendshape targets.

Vocabulary. ``BLENDSHAPE_NAMES`` are Apple's ARFaceAnchor.BlendShapeLocation names in the order
MediaPipe's FaceLandmarker reports them (alphabetical), so a vector from either source lines up.
Left/Right are the subject's own sides (ARKit's convention): in a frontal view "Left" is on the
image's right.

Action units. ``AU_TO_BLENDSHAPES`` maps a FACS action unit (Ekman, Friesen & Hager 2002, FACS
manual) to the blendshapes that carry it, each with a weight: the blendshape value that the AU at
its maximum (E) level produces. AU 25/26/27 (lips part / jaw drop / mouth stretch) all drive
``jawOpen``, at increasing weights. Blendshapes no AU drives: mouthClose, mouthLeft/Right,
mouthShrugUpper, eyeLookIn/Out (gaze sideways is AU 61/62, left out: it has no emotional meaning).

Emotions. ``EMFACS_PROTOTYPES`` are the EMFACS prototypes (Friesen, W. V. & Ekman, P. (1983),
EMFACS-7: Emotional Facial Action Coding System, unpublished manual, UCSF; as tabulated in
Matsumoto, Keltner, Shiota, O'Sullivan & Frank (2008), Facial expressions of emotion, Handbook of
Emotions 3rd ed., Table 13.1), written in FACS notation: AU number, optional intensity letter
A..E (trace .. maximum, read as 0.2 .. 1.0; no letter = E), optional side prefix L/R.
Where EMFACS gives no letter we chose one so that the prototype reads at a glance; deviations from
the manual are noted beside each prototype.
"""
from __future__ import annotations

import re
from typing import Mapping, Union

import numpy as np

from emogen.emotion import Emotion
from emogen.emotion.categories import get_set, mixture_to_vad
from emogen.errors import EmotionError

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft",
    "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
    "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper",
    "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
BLENDSHAPE_INDEX: dict[str, int] = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
NUM_BLENDSHAPES = len(BLENDSHAPE_NAMES)

AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer", 5: "upper lid raiser",
    6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler", 10: "upper lip raiser",
    12: "lip corner puller", 14: "dimpler", 15: "lip corner depressor", 16: "lower lip depressor",
    17: "chin raiser", 18: "lip pucker", 19: "tongue show", 20: "lip stretcher", 22: "lip funneler",
    23: "lip tightener", 24: "lip pressor", 25: "lips part", 26: "jaw drop", 27: "mouth stretch",
    28: "lip suck", 29: "jaw thrust", 30: "jaw sideways", 34: "cheek puff", 41: "lid droop",
    43: "eyes closed", 45: "blink", 63: "eyes up", 64: "eyes down",
}


def _both(stem: str, weight: float = 1.0) -> dict[str, float]:
    return {f"{stem}Left": weight, f"{stem}Right": weight}


AU_TO_BLENDSHAPES: dict[int, dict[str, float]] = {
    1: {"browInnerUp": 1.0},
    2: _both("browOuterUp"),
    4: _both("browDown"),
    5: _both("eyeWide"),
    6: _both("cheekSquint"),
    7: _both("eyeSquint"),
    9: _both("noseSneer"),
    10: _both("mouthUpperUp"),
    12: _both("mouthSmile"),
    14: _both("mouthDimple"),
    15: _both("mouthFrown"),
    16: _both("mouthLowerDown"),
    17: {"mouthShrugLower": 1.0},
    18: {"mouthPucker": 1.0},
    19: {"tongueOut": 1.0},
    20: _both("mouthStretch"),
    22: {"mouthFunnel": 1.0},
    23: _both("mouthPress", 0.6),  # tightening narrows the lips less than pressing them together
    24: _both("mouthPress"),
    25: {"jawOpen": 0.25},  # lips apart with the teeth near together
    26: {"jawOpen": 0.7},
    27: {"jawOpen": 1.0},
    28: {"mouthRollLower": 1.0, "mouthRollUpper": 1.0},
    29: {"jawForward": 1.0},
    30: {"jawLeft": 1.0, "jawRight": 1.0},  # FACS does not code the side of AU 30 in its number
    34: {"cheekPuff": 1.0},
    41: _both("eyeBlink", 0.5),  # a droop lowers the lid half way at most
    43: _both("eyeBlink"),
    45: _both("eyeBlink"),
    63: _both("eyeLookUp"),
    64: _both("eyeLookDown"),
}

FACS_LEVELS = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}

EMFACS_PROTOTYPES: dict[str, str] = {
    "neutral": "",
    "joy": "6D+12E+25C",  # EMFACS 6+12; lips apart (25) as in an open smile
    "sadness": "1E+4C+15D+17C+41B+64B",  # EMFACS 1+4+15(+17), with lid droop and gaze down (41, 64)
    "surprise": "1E+2E+5C+26E",  # EMFACS 1+2+5B+26; 5 at C so the eyes read as wide at 64 px
    "fear": "1E+2C+4C+5E+7B+20E+26C",  # EMFACS 1+2+4+5+7+20+26
    "anger": "4E+5D+7D+17C+23D+24D",  # EMFACS 4+5+7+23 / 4+5+7+17+24
    "disgust": "9E+10D+15C+16C+25B",  # EMFACS 9+15+16 and 10+16+25
    "contempt": "R12C+R14D",  # EMFACS R12A+R14A; at A (trace) the smirk is invisible on a drawn face
}

_AU_TERM = re.compile(r"^(?P<side>[LR]?)(?P<au>\d+)(?P<level>[A-E]?)$")

BlendshapeInput = Union[np.ndarray, Mapping[str, float]]


def aus_to_blendshapes(code: str) -> np.ndarray:
    """A FACS code such as '1+2+5B+26' or 'R12A+R14A' -> the 52 blendshape values it implies.

    An AU's level (A..E -> 0.2..1.0, none = E) times its weight gives each blendshape it drives;
    where two AUs drive one blendshape (25 and 26 both open the jaw) the larger value wins.
    """
    values = np.zeros(NUM_BLENDSHAPES)
    for term in filter(None, (t.strip().upper() for t in code.split("+"))):
        match = _AU_TERM.match(term)
        if not match or int(match["au"]) not in AU_TO_BLENDSHAPES:
            raise EmotionError(
                f"cannot read FACS term {term!r} in {code!r}; write [L|R]<AU>[A-E] with AU one of "
                f"{', '.join(str(au) for au in AU_TO_BLENDSHAPES)}, e.g. 'R12A+R14A'"
            )
        level = FACS_LEVELS[match["level"] or "E"]
        side = {"L": "Left", "R": "Right", "": ""}[match["side"]]
        for name, weight in AU_TO_BLENDSHAPES[int(match["au"])].items():
            if side and name.endswith(("Left", "Right")) and not name.endswith(side):
                continue
            index = BLENDSHAPE_INDEX[name]
            values[index] = max(values[index], level * weight)
    return values


def blendshapes_to_aus(blendshapes: BlendshapeInput) -> dict[int, float]:
    """Blendshape values (e.g. MediaPipe's) -> estimated AU intensities in [0, 1].

    Each AU reads the mean of its blendshapes divided by their weight: the inverse of
    ``aus_to_blendshapes`` for one bilateral AU at a time.
    """
    values = check_blendshapes(blendshapes)
    return {
        au: float(min(1.0, np.mean([values[BLENDSHAPE_INDEX[n]] / w for n, w in targets.items()])))
        for au, targets in AU_TO_BLENDSHAPES.items()
    }


RIG_CATEGORY_SET = "mead8"


def prototype_matrix(prototypes: Mapping[str, str]) -> np.ndarray:
    """(8, 52) blendshape values of a table of FACS codes, one row per MEAD-8 category (in the set's order).
    A table must code every category: the renderer's faces are a mixture over all of them."""
    categories = get_set(RIG_CATEGORY_SET).categories
    missing = [c for c in categories if c not in prototypes]
    if missing:
        raise EmotionError(f"a prototype table must give a FACS code for every {RIG_CATEGORY_SET} category; "
                           f"missing: {', '.join(missing)}")
    return np.stack([aus_to_blendshapes(prototypes[c]) for c in categories])


_PROTOTYPES = prototype_matrix(EMFACS_PROTOTYPES)
_PROTOTYPE_VAD = mixture_to_vad(np.eye(len(get_set(RIG_CATEGORY_SET))), get_set(RIG_CATEGORY_SET))


def _va_gains() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-blendshape gains on max(v, 0), max(-v, 0), max(a, 0), max(-a, 0)."""
    gains = np.zeros((4, NUM_BLENDSHAPES))
    for row, targets in enumerate([
        {"mouthSmile": 0.2, "cheekSquint": 0.1},  # pleasant
        {"mouthFrown": 0.15, "browInnerUp": 0.1},  # unpleasant
        {"eyeWide": 0.15, "browInnerUp": 0.08, "jawOpen": 0.05},  # aroused
        {"eyeBlink": 0.2, "eyeLookDown": 0.1},  # calm, tired
    ]):
        for stem, gain in targets.items():
            for name in (stem,) if stem in BLENDSHAPE_INDEX else (f"{stem}Left", f"{stem}Right"):
                gains[row, BLENDSHAPE_INDEX[name]] = gain
    return gains[0], gains[1], gains[2], gains[3]


_VA_GAINS = _va_gains()


def expression_strength(emotion: Emotion, probs: np.ndarray) -> float:
    """How far the emotion's VAD point lies along its category mixture's prototype, in [0, 1].

    For emotions built from categories the point is intensity * mixture prototype, so this equals
    ``emotion.intensity``. It is read from the point rather than the intensity field because
    ``Emotion.from_vad`` normalises intensity by the top category's prototype, which jumps where
    the top category changes; the projection moves continuously with the point.
    """
    direction = probs @ _PROTOTYPE_VAD
    norm2 = float(direction @ direction)
    if norm2 < 1e-12:
        return 0.0
    return float(np.clip(np.asarray(emotion.vad) @ direction / norm2, 0.0, 1.0))


def prototype_weights(emotion: Emotion) -> np.ndarray:
    """(8,) how much of each MEAD-8 prototype an emotion shows: its category mixture scaled by
    ``expression_strength`` (also what scales a talking head's posture, emogen.talking.expression)."""
    probs = np.asarray(emotion.to_set(RIG_CATEGORY_SET).probs)
    return expression_strength(emotion, probs) * probs


def emotion_to_blendshapes(emotion: Emotion | str | Mapping, prototypes: np.ndarray | None = None) -> np.ndarray:
    """An emotion (or any spec ``Emotion.parse`` reads) -> 52 blendshape values in [0, 1].

    The probability-weighted mean of the EMFACS prototypes (Mikels and other sets roll up to
    MEAD-8 first) scaled by ``expression_strength``, plus a small term in valence and arousal so
    that points of the VA plane map to faces continuously, including between categories.
    ``prototypes``: the ``prototype_matrix`` of another table (a renderer's own EMFACS variants, e.g.
    emogen.talking.photo.PHOTO_PROTOTYPE_MATRIX); the default is that of EMFACS_PROTOTYPES, which define the
    EmoFaces world and its datasets.
    """
    emotion = Emotion.parse(emotion)
    table = _PROTOTYPES if prototypes is None else prototypes
    categorical = prototype_weights(emotion) @ table
    v, a = emotion.valence, emotion.arousal
    pleasant, unpleasant, aroused, calm = _VA_GAINS
    dimensional = max(v, 0) * pleasant + max(-v, 0) * unpleasant + max(a, 0) * aroused + max(-a, 0) * calm
    return np.clip(categorical + dimensional, 0.0, 1.0)


def emotion_to_blendshape_dict(emotion: Emotion | str | Mapping) -> dict[str, float]:
    """``emotion_to_blendshapes`` as ARKit name -> value."""
    return blendshapes_as_dict(emotion_to_blendshapes(emotion))


def blendshapes_as_dict(values: BlendshapeInput) -> dict[str, float]:
    return dict(zip(BLENDSHAPE_NAMES, (float(x) for x in check_blendshapes(values))))


def check_blendshapes(values: BlendshapeInput) -> np.ndarray:
    """A float64 array of the 52 values, from an array or a name -> value mapping.

    A mapping may leave names out (they read 0) and may carry MediaPipe's extra '_neutral' score,
    which is ignored. Values must be finite and in [0, 1].
    """
    if isinstance(values, Mapping):
        unknown = sorted(str(k) for k in values if k not in BLENDSHAPE_INDEX and k != "_neutral")
        if unknown:
            raise EmotionError(f"unknown blendshape names {unknown}; accepted: the 52 ARKit names "
                               f"({', '.join(BLENDSHAPE_NAMES[:4])}, ...)")
        array = np.zeros(NUM_BLENDSHAPES)
        for name, value in values.items():
            if name in BLENDSHAPE_INDEX:
                array[BLENDSHAPE_INDEX[name]] = _number(name, value)
    else:
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise EmotionError(f"blendshapes must be 52 numbers or a name -> value mapping, "
                               f"got {type(values).__name__}") from None
        if array.shape != (NUM_BLENDSHAPES,):
            raise EmotionError(f"blendshapes must have shape ({NUM_BLENDSHAPES},), got {array.shape}")
    bad = np.flatnonzero(~((array >= 0.0) & (array <= 1.0)))  # NaN fails both comparisons
    if bad.size:
        shown = ", ".join(f"{BLENDSHAPE_NAMES[i]}={float(array[i])!r}" for i in bad[:5])
        raise EmotionError(f"blendshape values must be in [0, 1]; got {shown}")
    return array


def _number(name: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EmotionError(f"blendshape {name} must be a number in [0, 1], got {value!r}") from None
