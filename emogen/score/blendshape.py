"""Rule-based emotion scorer: MediaPipe blendshapes + landmark geometry -> FACS action units -> EMFACS.

Nothing here is learned. The pipeline, for the largest face of a photo:

1. ``FaceLandmarker`` (the real MediaPipe model) gives 52 ARKit blendshapes and 478 3-D landmarks.
2. ``face_geometry`` aligns the landmarks to MediaPipe's own canonical (neutral, frontal) face mesh
   with a weighted similarity Procrustes fit on MediaPipe's 33 rigid "procrustes basis" landmarks,
   so that head yaw, pitch and roll drop out, and then measures, in units of the face's own
   inter-ocular distance (IOD: between the eye centres, each the mean of its two corners):
   inner and outer brow height above the eye line, the height of each mouth corner relative to
   the lip centre, and the inner-lip gap. The canonical mesh, measured the same way, is the
   neutral reference: a feature minus the reference is the movement.
3. ``au_evidence`` reads FACS action-unit intensities in [0, 1]: the blendshape reading is
   ``emogen.face.rig.blendshapes_to_aus`` (each AU's ARKit blendshapes over their weight), with
   two documented substitutions for blendshapes that MediaPipe's model leaves at ~0 on every face
   (cheekSquint, noseSneer: see ``MEDIAPIPE_SILENT``); where geometry also measures an AU the two
   readings are averaged (``GEOMETRY_FULL_SCALE`` gives the movement, in IOD, that reads 1.0).
   A noise floor (``NOISE_FLOOR``) is subtracted from every AU: MediaPipe reports small non-zero
   values on a face that does not move.
4. ``category_scores`` matches the AUs against the EMFACS prototypes (``PROTOTYPES``, sets of AUs)
   by weighted Jaccard (Ruzicka) similarity, sum(min) / sum(max) between the measured AU profile
   and the prototype's (its AUs at 1, the rest at 0), each AU weighted by a global ``SALIENCE``: a
   category gains from its prototype's AUs and loses both from those that are missing and from
   activity it does not explain. Neutral has an empty prototype and the constant score
   ``NEUTRAL_LEVEL``, so neutral wins when no prototype is matched above that level.
5. ``rule_probs``: softmax of the scores at ``TEMPERATURE``; valence and arousal are
   ``expected_va`` of those probabilities.

Constants, and what they were set on. No parameter is fitted to EmoFaces labels (or any labels):
``NOISE_FLOOR`` 0.1, ``NEUTRAL_LEVEL`` 0.2 (FACS trace level A), ``TEMPERATURE`` 0.2 (exact match
to one prototype, 0 to the others: p = 0.945), ``SALIENCE`` and the geometry full-scales are
hand-set from those definitions and from FACS. The rule structure (the AU 10-beyond-smile rule,
bilateral/unilateral lip corners, Jaccard rather than match-minus-mean, AU 16 in disgust) was
revised while looking at MediaPipe's readings of development renders (identity seeds 1000-1009,
apart from the benchmark's seeds 0-9) and of the real test photos; see
bench/bench_blendshape_scorer.py for the measured accuracy.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from emogen.emotion.categories import get_set
from emogen.errors import EmotionError
from emogen.face.rig import BlendshapeInput, blendshapes_as_dict, blendshapes_to_aus
from emogen.io import Media, read_rgb
from emogen.score.estimate import EmotionEstimate, expected_va

SCORER_NAME = "blendshape"
CATEGORY_SET = "mead8"
CATEGORIES: tuple[str, ...] = tuple(get_set(CATEGORY_SET).categories)

# MediaPipe's face detector works on a 128 px input; faces in smaller images are not found.
MIN_IMAGE_SIDE = 32

# ----- the rules --------------------------------------------------------------------------------

# AU readings below this are MediaPipe noise (on a face at rest most blendshapes read < 0.1).
NOISE_FLOOR = 0.1
# A category must match its prototype above FACS trace level (A = 0.2) to beat neutral.
NEUTRAL_LEVEL = 0.2
# Weight of unexplained activity (the AUs outside a prototype) in the similarity's denominator;
# 1 is the plain weighted Jaccard similarity.
UNEXPLAINED_WEIGHT = 1.0
# Softmax temperature: a face that matches one prototype exactly (score 1) and no other (0; neutral
# 0.2) reads exp(5) / (exp(5) + exp(1) + 6) = 0.945.
TEMPERATURE = 0.2

# EMFACS prototypes as sets of AUs. "U" is unilateral lip-corner action (AU 12 or 14 on one side
# only); "9" is the pooled nasolabial reading (AU 9 or 10, see MEDIAPIPE_SILENT); "23" pools 23/24.
PROTOTYPES: dict[str, tuple[str, ...]] = {
    "neutral": (),
    "joy": ("6", "12"),                          # EMFACS 6+12
    "sadness": ("1", "4", "15"),                 # EMFACS 1+4+15
    "surprise": ("1", "2", "5", "26"),           # EMFACS 1+2+5B+26
    "fear": ("1", "2", "4", "5", "20", "26"),    # EMFACS 1+2+4+5+20+26
    "anger": ("4", "5", "7", "23"),              # EMFACS 4+5+7+23 (or 24)
    "disgust": ("9", "15", "16"),                # EMFACS 9+15+16, 10+16(+25)
    "contempt": ("U",),                          # EMFACS R12A+R14A: one-sided corner action
}
# Salience of each AU in the similarity, the same in every prototype: 2 for the AUs that single
# out one category among the EMFACS prototypes (12 joy, 15 sadness, 20 fear, 9/10 disgust,
# unilateral contempt), 1 for the others (shared between categories).
SALIENCE: dict[str, float] = {"12": 2.0, "15": 2.0, "20": 2.0, "9": 2.0, "U": 2.0}
# The AUs that count as activity (for "unexplained"). Left out: 25 (lips part) goes with almost
# every expression that opens the mouth; gaze and blinks carry no category.
ACTIVITY_AUS: tuple[str, ...] = ("1", "2", "4", "5", "6", "7", "9", "12", "14", "15", "16", "17",
                                 "20", "23", "26", "U")

# Blendshapes that MediaPipe's blendshape model (face_blendshapes.tflite, 2023) leaves at ~0 on
# every face, smiling or sneering (measured: < 0.002 on the test photos and the renders). Their
# AUs are read from the nearest blendshape it does move:
#   AU 6 (cheek raiser) narrows the eye from below: read max(cheekSquint, eyeSquint).
#   AU 9 (nose wrinkler) always comes with upper-lip raising: read max(AU 9, AU 10); "9" below
#   means this pooled nasolabial reading.
MEDIAPIPE_SILENT = ("cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight")

# Geometry -> AU: the movement (in IOD, from the canonical face) that reads as AU intensity 1.0.
# Set from FACS descriptions at the E (maximum) level on an adult face, not fitted.
GEOMETRY_FULL_SCALE = {
    "brow_inner_up": 0.15,   # AU 1: the inner brow rises about 1/6 of the eye spacing
    "brow_outer_up": 0.15,   # AU 2
    "brow_down": 0.10,       # AU 4: lowering has less travel than raising
    "corner_up": 0.20,       # AU 12: corners pulled up and out
    "corner_down": 0.10,     # AU 15
    "corner_asymmetry": 0.12,  # unilateral 12/14: one corner a twelfth of the IOD above the other
    "lips_apart": 0.10,      # AU 25
    "jaw_drop": 0.35,        # AU 26
}

# ----- the canonical face -----------------------------------------------------------------------

# MediaPipe's canonical face mesh (x right, y up, z towards the viewer; cm) at the landmarks used
# here, and its Procrustes basis (landmark id -> weight): both read from
# geometry_pipeline_metadata_landmarks.binarypb inside face_landmarker.task (the test
# test_canonical_table_matches_the_model_file checks these numbers against that file).
CANONICAL: dict[int, tuple[float, float, float]] = {
    0: (0.000000, -3.406404, 5.979507), 4: (0.000000, -0.463170, 7.586580),
    6: (0.000000, 2.473255, 5.788627), 10: (0.000000, 8.261778, 4.481535),
    13: (0.000000, -3.994436, 5.219482), 14: (0.000000, -4.542400, 5.404754),
    17: (0.000000, -5.365123, 5.535441), 33: (-4.445859, 2.663991, 3.173422),
    54: (-6.279331, 6.615427, 1.425850), 61: (-2.456206, -4.342621, 4.283884),
    63: (-4.985894, 4.802461, 3.751977), 66: (-2.760292, 5.100971, 5.015990),
    67: (-3.523964, 8.005976, 3.729163), 70: (-5.720968, 4.254584, 2.830852),
    107: (-1.395634, 5.011963, 5.316032), 117: (-5.258659, 0.945811, 2.974312),
    119: (-3.300681, 0.861641, 3.872784), 121: (-1.820731, 1.467954, 4.224124),
    127: (-7.743095, 2.364999, -2.005167), 129: (-1.785794, -0.978284, 4.850470),
    132: (-7.270895, -2.890917, -2.252455), 133: (-1.856432, 2.585245, 3.757904),
    136: (-5.085276, -7.178590, 0.714711), 143: (-6.407571, 2.236021, 1.560843),
    147: (-6.234883, -1.944430, 1.663542), 198: (-1.246815, 0.230297, 5.681036),
    205: (-3.832928, -1.537326, 4.137731), 263: (4.445859, 2.663991, 3.173422),
    284: (6.279331, 6.615427, 1.425850), 291: (2.456206, -4.342621, 4.283884),
    293: (4.985894, 4.802461, 3.751977), 296: (2.760292, 5.100971, 5.015990),
    297: (3.523964, 8.005976, 3.729163), 300: (5.720968, 4.254584, 2.830852),
    336: (1.395634, 5.011963, 5.316032), 346: (5.258659, 0.945811, 2.974312),
    348: (3.300681, 0.861641, 3.872784), 350: (1.820731, 1.467954, 4.224124),
    356: (7.743095, 2.364999, -2.005167), 358: (1.785794, -0.978284, 4.850470),
    361: (7.270895, -2.890917, -2.252455), 362: (1.856432, 2.585245, 3.757904),
    365: (5.085276, -7.178590, 0.714711), 372: (6.407571, 2.236021, 1.560843),
    376: (6.234883, -1.944430, 1.663542), 420: (1.246815, 0.230297, 5.681036),
    425: (3.832928, -1.537326, 4.137731),
}
PROCRUSTES_BASIS: dict[int, float] = {
    4: 0.070910, 6: 0.032100, 10: 0.008447, 33: 0.058724, 54: 0.007667, 67: 0.009078,
    117: 0.009792, 119: 0.014565, 121: 0.018591, 127: 0.005198, 129: 0.120625, 132: 0.005560,
    133: 0.053286, 136: 0.066890, 143: 0.014817, 147: 0.014263, 198: 0.025462, 205: 0.047252,
    263: 0.058724, 284: 0.007667, 297: 0.009078, 346: 0.009792, 348: 0.014565, 350: 0.018591,
    356: 0.005198, 358: 0.120625, 361: 0.005560, 362: 0.053286, 365: 0.066890, 372: 0.014817,
    376: 0.014263, 420: 0.025462, 425: 0.047252,
}

# Landmarks (subject's right / left, MediaPipe face-mesh ids).
EYE_CORNERS = ((33, 133), (263, 362))
BROW_INNER = ((107, 66), (336, 296))
BROW_OUTER = ((70, 63), (300, 293))
MOUTH_CORNERS = (61, 291)
INNER_LIPS = (13, 14)


def _measure(points: Mapping[int, np.ndarray]) -> dict[str, float]:
    """Geometry of one face in a y-up frame, in units of its inter-ocular distance."""
    eyes = [(points[a] + points[b]) / 2 for a, b in EYE_CORNERS]
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    if iod < 1e-9:
        raise EmotionError("degenerate face landmarks: the two eyes coincide")
    eye_y = [e[1] for e in eyes]
    brow_inner = [np.mean([points[i][1] for i in ids]) for ids in BROW_INNER]
    brow_outer = [np.mean([points[i][1] for i in ids]) for ids in BROW_OUTER]
    upper, lower = (points[i] for i in INNER_LIPS)
    lip_centre_y = (upper[1] + lower[1]) / 2
    corners = [points[i][1] - lip_centre_y for i in MOUTH_CORNERS]
    return {
        "brow_inner": float(np.mean([b - e for b, e in zip(brow_inner, eye_y)])) / iod,
        "brow_outer": float(np.mean([b - e for b, e in zip(brow_outer, eye_y)])) / iod,
        "corner_right": float(corners[0]) / iod,   # + = corner above the lip centre
        "corner_left": float(corners[1]) / iod,
        "lip_gap": float(upper[1] - lower[1]) / iod,
    }


CANONICAL_GEOMETRY = _measure({i: np.asarray(p) for i, p in CANONICAL.items()})


def _align_to_canonical(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """Landmarks (pixels, y down, z negative towards the camera) rotated, scaled and shifted onto
    the canonical mesh by weighted Procrustes on the basis landmarks; also the yaw in degrees."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :3] * np.array([1.0, -1.0, -1.0])
    ids = list(PROCRUSTES_BASIS)
    weights = np.array([PROCRUSTES_BASIS[i] for i in ids])
    weights = weights / weights.sum()
    source, target = points[ids], np.array([CANONICAL[i] for i in ids])
    mu_s, mu_t = weights @ source, weights @ target
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd((t * weights[:, None]).T @ s)
    d = np.sign(np.linalg.det(u @ vt))
    correction = np.diag([1.0, 1.0, d])
    rotation = u @ correction @ vt
    scale = float(np.sum(sigma * np.diag(correction)) / np.sum(weights * np.sum(s * s, axis=1)))
    aligned = scale * (points - mu_s) @ rotation.T + mu_t
    # rotation maps the face's frame to the canonical one: its inverse is the head's pose.
    yaw = float(np.degrees(np.arcsin(np.clip(-rotation[0, 2], -1.0, 1.0))))
    return aligned, yaw


def face_geometry(landmarks: np.ndarray) -> dict[str, float]:
    """Pose-free geometry of a MediaPipe face (478x3 landmarks in pixels), as movements from the
    canonical neutral face in IOD units: ``brow_inner``/``brow_outer`` (+ = raised),
    ``corner_right``/``corner_left`` (+ = the subject's mouth corner raised relative to the lip
    centre), ``lip_gap`` (the inner-lip opening itself: neutral lips touch), and ``yaw`` in degrees.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 2 or landmarks.shape[0] < 468 or landmarks.shape[1] < 3:
        raise EmotionError(f"face landmarks must be 468 or 478 rows of (x, y, z), got {landmarks.shape}")
    aligned, yaw = _align_to_canonical(landmarks)
    measured = _measure({i: aligned[i] for i in CANONICAL})
    movement = {name: value - CANONICAL_GEOMETRY[name] for name, value in measured.items()}
    movement["lip_gap"] = measured["lip_gap"]
    movement["yaw"] = yaw
    return movement


def _ramp(value: float, full_scale: float) -> float:
    return float(np.clip(value / full_scale, 0.0, 1.0))


def geometry_aus(geometry: Mapping[str, float]) -> dict[str, float]:
    """AU intensities that the landmark geometry measures (see ``GEOMETRY_FULL_SCALE``)."""
    g, scale = geometry, GEOMETRY_FULL_SCALE
    right, left = g["corner_right"], g["corner_left"]
    return {
        "1": _ramp(g["brow_inner"], scale["brow_inner_up"]),
        "2": _ramp(g["brow_outer"], scale["brow_outer_up"]),
        "4": _ramp(-g["brow_inner"], scale["brow_down"]),
        "12": _ramp(min(right, left), scale["corner_up"]),  # bilateral part; one-sided is "U"
        "15": _ramp(-(right + left) / 2, scale["corner_down"]),
        "U": _ramp(abs(right - left), scale["corner_asymmetry"]),
        "25": _ramp(g["lip_gap"], scale["lips_apart"]),
        "26": _ramp(g["lip_gap"], scale["jaw_drop"]),
    }


def blendshape_aus(blendshapes: BlendshapeInput) -> dict[str, float]:
    """AU intensities from the 52 blendshapes: ``rig.blendshapes_to_aus`` plus the substitutions of
    ``MEDIAPIPE_SILENT``, AU 10 beyond the smile, and lip-corner action split into bilateral AU
    12/14 (the weaker side) and the unilateral reading "U" (the larger left/right difference of
    mouthSmile and mouthDimple)."""
    shapes = blendshapes_as_dict(blendshapes)
    aus = {str(au): value for au, value in blendshapes_to_aus(shapes).items()}
    aus["6"] = max(aus["6"], aus["7"])  # eyeSquint stands in for the silent cheekSquint
    # FACS scores AU 10 in a smile only for upper-lip raising beyond what AU 12 causes.
    aus["10"] = float(np.mean([max(0.0, shapes[f"mouthUpperUp{side}"] - shapes[f"mouthSmile{side}"])
                               for side in ("Left", "Right")]))
    aus["9"] = max(aus["9"], aus["10"])
    aus["23"] = max(aus["23"], aus["24"])  # both press the lips: MediaPipe has one mouthPress
    # Lip-corner action split into its bilateral part (the weaker side: AU 12/14 proper) and its
    # unilateral part (the difference between the sides: "U").
    for au, stem in (("12", "mouthSmile"), ("14", "mouthDimple")):
        aus[au] = min(shapes[f"{stem}Left"], shapes[f"{stem}Right"])
    aus["U"] = max(abs(shapes["mouthSmileLeft"] - shapes["mouthSmileRight"]),
                   abs(shapes["mouthDimpleLeft"] - shapes["mouthDimpleRight"]))
    return aus


def au_evidence(blendshapes: BlendshapeInput, geometry: Mapping[str, float] | None = None) -> dict[str, float]:
    """AU intensities in [0, 1] after the noise floor: blendshape and geometry readings averaged
    where both measure an AU. ``geometry`` is ``face_geometry``'s output (optional)."""
    aus = blendshape_aus(blendshapes)
    if geometry is not None:
        for au, value in geometry_aus(geometry).items():
            aus[au] = (aus[au] + value) / 2
    return {au: float(np.clip((v - NOISE_FLOOR) / (1.0 - NOISE_FLOOR), 0.0, 1.0)) for au, v in aus.items()}


def category_scores(aus: Mapping[str, float]) -> dict[str, float]:
    """EMFACS prototype scores: the weighted Jaccard (Ruzicka) similarity between the measured
    activity and each prototype (its AUs at 1, the others at 0), sum(min) / sum(max) over
    ``ACTIVITY_AUS`` with ``SALIENCE`` weights. A category gains from its prototype's AUs and
    loses from those it lacks and from activity it does not explain
    (times ``UNEXPLAINED_WEIGHT``). Neutral (no prototype) scores the constant ``NEUTRAL_LEVEL``."""
    scores = {}
    for category, prototype in PROTOTYPES.items():
        if not prototype:
            scores[category] = NEUTRAL_LEVEL
            continue
        weight = {au: SALIENCE.get(au, 1.0) for au in ACTIVITY_AUS}
        shared = sum(weight[au] * aus.get(au, 0.0) for au in prototype)
        unexplained = sum(weight[au] * aus.get(au, 0.0) for au in ACTIVITY_AUS if au not in prototype)
        scores[category] = float(shared / (sum(weight[au] for au in prototype) + UNEXPLAINED_WEIGHT * unexplained))
    return scores


def softmax(scores: Mapping[str, float], temperature: float = TEMPERATURE) -> dict[str, float]:
    names = list(scores)
    values = np.array([scores[n] for n in names]) / temperature
    values = np.exp(values - values.max())
    values /= values.sum()
    return {n: float(v) for n, v in zip(names, values)}


def rule_probs(blendshapes: BlendshapeInput, geometry: Mapping[str, float] | None = None) -> dict[str, float]:
    """The whole rule: blendshapes (52 values or an ARKit name -> value mapping; MediaPipe's
    '_neutral' is ignored) and optional ``face_geometry`` -> probabilities over mead8."""
    return softmax(category_scores(au_evidence(blendshapes, geometry)))


# ----- the scorer -------------------------------------------------------------------------------

class BlendshapeScorer:
    """Scores the largest face in a photo (or render) with FACS prototype rules on MediaPipe's
    blendshapes and landmark geometry."""

    name = SCORER_NAME
    category_set = CATEGORY_SET

    def __init__(self, landmarker=None, use_geometry: bool = True) -> None:
        if landmarker is None:
            from emogen.face.landmarks import FaceLandmarker

            landmarker = FaceLandmarker()
        self.landmarker = landmarker
        self.use_geometry = use_geometry

    def score(self, media: Media) -> EmotionEstimate:
        image = read_rgb(media)
        height, width = image.shape[:2]
        if min(height, width) < MIN_IMAGE_SIDE:
            raise EmotionError(f"image is {width}x{height} pixels; the {SCORER_NAME} scorer "
                               f"needs at least {MIN_IMAGE_SIDE} on each side")
        faces = self.landmarker.detect(image)
        if not faces:
            raise EmotionError(f"no face found in the {width}x{height} image")
        notes = [f"{len(faces)} faces found, scored the largest"] if len(faces) > 1 else []
        probs, face_notes = self.face_probs(faces[0])
        notes += face_notes
        valence, arousal = expected_va(probs)
        # MediaPipe's landmarker reports no detection score, so confidence is the top probability.
        return EmotionEstimate(probs=probs, valence=valence, arousal=arousal,
                               confidence=max(probs.values()), scorer=SCORER_NAME, notes=tuple(notes))

    def face_probs(self, face) -> tuple[dict[str, float], list[str]]:
        """Probabilities (mead8) for one ``FaceDetection``, and notes about the reading."""
        geometry = face_geometry(face.landmarks) if self.use_geometry else None
        notes = []
        if geometry is not None and abs(geometry["yaw"]) > 30:
            notes.append(f"face turned {abs(geometry['yaw']):.0f} degrees from the camera: "
                         "geometry and blendshapes are less reliable")
        return rule_probs(face.blendshapes, geometry), notes
