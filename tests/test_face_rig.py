"""The face rig: ARKit vocabulary, FACS mapping, EMFACS prototypes, Emotion -> blendshapes."""
from __future__ import annotations

import numpy as np
import pytest

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.face.rig import (
    AU_TO_BLENDSHAPES,
    BLENDSHAPE_INDEX,
    BLENDSHAPE_NAMES,
    aus_to_blendshapes,
    blendshapes_as_dict,
    blendshapes_to_aus,
    check_blendshapes,
    emotion_to_blendshape_dict,
    emotion_to_blendshapes,
)

# Apple's ARFaceAnchor.BlendShapeLocation, grouped as in its documentation.
ARKIT_52 = {
    # eyes (left)
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft",
    # eyes (right)
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    # jaw
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    # mouth
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft",
    "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight",
    # brows, cheeks, nose, tongue
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
}


def test_vocabulary_is_arkits_52_in_mediapipe_order():
    assert len(BLENDSHAPE_NAMES) == 52 == len(set(BLENDSHAPE_NAMES))
    assert set(BLENDSHAPE_NAMES) == ARKIT_52
    # MediaPipe's FaceLandmarker reports them alphabetically (after its own '_neutral').
    assert list(BLENDSHAPE_NAMES) == sorted(BLENDSHAPE_NAMES)
    assert all(BLENDSHAPE_NAMES[i] == name for name, i in BLENDSHAPE_INDEX.items())


@pytest.mark.parametrize("au, expected", [
    (1, {"browInnerUp"}), (2, {"browOuterUpLeft", "browOuterUpRight"}), (4, {"browDownLeft", "browDownRight"}),
    (5, {"eyeWideLeft", "eyeWideRight"}), (6, {"cheekSquintLeft", "cheekSquintRight"}),
    (7, {"eyeSquintLeft", "eyeSquintRight"}), (9, {"noseSneerLeft", "noseSneerRight"}),
    (10, {"mouthUpperUpLeft", "mouthUpperUpRight"}), (12, {"mouthSmileLeft", "mouthSmileRight"}),
    (14, {"mouthDimpleLeft", "mouthDimpleRight"}), (15, {"mouthFrownLeft", "mouthFrownRight"}),
    (17, {"mouthShrugLower"}), (20, {"mouthStretchLeft", "mouthStretchRight"}),
    (23, {"mouthPressLeft", "mouthPressRight"}), (24, {"mouthPressLeft", "mouthPressRight"}),
    (25, {"jawOpen"}), (26, {"jawOpen"}),
    (43, {"eyeBlinkLeft", "eyeBlinkRight"}), (45, {"eyeBlinkLeft", "eyeBlinkRight"}),
])
def test_action_units_map_to_their_blendshapes(au, expected):
    assert set(AU_TO_BLENDSHAPES[au]) == expected


def test_every_au_target_is_a_blendshape_with_a_weight_in_0_1():
    for au, targets in AU_TO_BLENDSHAPES.items():
        assert targets, au
        for name, weight in targets.items():
            assert name in BLENDSHAPE_INDEX, (au, name)
            assert 0.0 < weight <= 1.0, (au, name)


def test_facs_codes_read_levels_and_sides():
    values = blendshapes_as_dict(aus_to_blendshapes("1+2C+R12A+26"))
    assert values["browInnerUp"] == 1.0  # no letter = maximum
    assert values["browOuterUpLeft"] == values["browOuterUpRight"] == pytest.approx(0.6)
    assert values["mouthSmileRight"] == pytest.approx(0.2) and values["mouthSmileLeft"] == 0.0
    assert 0.0 < values["jawOpen"] < 1.0
    assert blendshapes_as_dict(aus_to_blendshapes("25+27"))["jawOpen"] == 1.0  # the larger wins
    aus = blendshapes_to_aus(aus_to_blendshapes("4D+12B"))
    assert aus[4] == pytest.approx(0.8) and aus[12] == pytest.approx(0.4) and aus[1] == 0.0


@pytest.mark.parametrize("code", ["13", "12F", "X4", "twelve", "R"])
def test_bad_facs_codes_are_refused(code):
    with pytest.raises(EmotionError, match="FACS term"):
        aus_to_blendshapes(code)


# The blendshapes of each category's EMFACS action units (Friesen & Ekman 1983).
DEFINING = {
    "joy": ["cheekSquintLeft", "cheekSquintRight", "mouthSmileLeft", "mouthSmileRight"],
    "sadness": ["browInnerUp", "browDownLeft", "browDownRight", "mouthFrownLeft", "mouthFrownRight", "mouthShrugLower"],
    "surprise": ["browInnerUp", "browOuterUpLeft", "browOuterUpRight", "eyeWideLeft", "eyeWideRight", "jawOpen"],
    "fear": ["browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight", "eyeWideLeft",
             "eyeWideRight", "eyeSquintLeft", "eyeSquintRight", "mouthStretchLeft", "mouthStretchRight", "jawOpen"],
    "anger": ["browDownLeft", "browDownRight", "eyeWideLeft", "eyeWideRight", "eyeSquintLeft", "eyeSquintRight",
              "mouthPressLeft", "mouthPressRight"],
    "disgust": ["noseSneerLeft", "noseSneerRight", "mouthFrownLeft", "mouthFrownRight", "mouthLowerDownLeft",
                "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight"],
    "contempt": ["mouthSmileRight", "mouthDimpleRight"],
}


@pytest.mark.parametrize("category", list(DEFINING))
def test_prototypes_activate_their_defining_action_units_above_the_rest(category):
    values = emotion_to_blendshape_dict(Emotion.from_category(category))
    defining = [values[n] for n in DEFINING[category]]
    others = [v for n, v in values.items() if n not in DEFINING[category]]
    assert min(defining) >= 0.3
    assert min(defining) > max(others), sorted(values.items(), key=lambda kv: -kv[1])[:10]


def test_prototype_details_that_make_the_category():
    joy, sad, anger, contempt = (emotion_to_blendshape_dict(c) for c in ("joy", "sadness", "anger", "contempt"))
    assert joy["mouthSmileLeft"] > 0.9 and joy["mouthFrownLeft"] < 0.05 and joy["browDownLeft"] < 0.05
    assert sad["browInnerUp"] > 0.8 and sad["mouthFrownRight"] > 0.7 and sad["mouthSmileRight"] < 0.05
    assert anger["browInnerUp"] < 0.2 and anger["mouthSmileLeft"] < 0.05
    # Contempt is one-sided: EMFACS codes it on the right (R12A+R14A).
    assert contempt["mouthSmileRight"] > 0.4 and contempt["mouthSmileLeft"] < 0.05
    assert not emotion_to_blendshapes("neutral").any()


@pytest.mark.parametrize("category", ["joy", "sadness", "surprise", "fear", "anger", "disgust", "contempt"])
def test_intensity_scales_the_face_monotonically(category):
    frames = [emotion_to_blendshapes(Emotion.from_category(category, intensity=i)) for i in np.linspace(0, 1, 11)]
    assert not frames[0].any()  # intensity 0 is the neutral face
    steps = np.diff(np.stack(frames), axis=0)
    assert (steps >= -1e-12).all()
    assert steps.sum() > 1.0  # and it does move


def test_mixtures_blend_by_probability():
    joy, surprise = emotion_to_blendshapes("joy"), emotion_to_blendshapes("surprise")
    mostly_joy = emotion_to_blendshapes("0.7 joy + 0.3 surprise")
    mostly_surprise = emotion_to_blendshapes("0.3 joy + 0.7 surprise")
    smile, brow = BLENDSHAPE_INDEX["mouthSmileLeft"], BLENDSHAPE_INDEX["browOuterUpLeft"]
    assert joy[smile] > mostly_joy[smile] > mostly_surprise[smile] > surprise[smile]
    assert joy[brow] < mostly_joy[brow] < mostly_surprise[brow] <= surprise[brow]


def test_mikels_categories_roll_up_to_faces():
    awe, amusement = emotion_to_blendshape_dict("awe"), emotion_to_blendshape_dict("amusement")
    assert awe["browInnerUp"] > 0.5 and awe["jawOpen"] > 0.3  # mostly surprise
    assert amusement["mouthSmileLeft"] > 0.6 and amusement["mouthFrownLeft"] < 0.05  # mostly joy
    sad_mikels = emotion_to_blendshapes(Emotion.from_category("sadness", category_set="mikels8"))
    assert np.allclose(sad_mikels, emotion_to_blendshapes("sadness"))


def _face_at(v: float, a: float) -> np.ndarray:
    return emotion_to_blendshapes(Emotion.from_vad(v, a))


def test_faces_move_continuously_over_the_valence_arousal_plane():
    grid = np.linspace(-1.0, 1.0, 81)
    faces = np.stack([[_face_at(v, a) for a in grid] for v in grid])
    change = [np.abs(np.diff(faces, axis=axis)).max(axis=2) for axis in (0, 1)]
    assert max(c.max() for c in change) < 0.12  # a 0.025 step in VA moves no blendshape far
    # No jumps: where a grid step changes the face most, cut it into 16 sub-steps; a continuous
    # map spreads the change over them, a jump keeps it in one. (Emotion.from_vad's own intensity
    # jumps where its top category changes, so a rig that scaled by it would fail here.)
    for axis, c in enumerate(change):
        for flat in np.argsort(c.ravel())[-8:]:
            i, j = np.unravel_index(flat, c.shape)
            start = np.array([grid[i], grid[j]])
            end = start + (grid[1] - grid[0]) * np.eye(2)[axis]
            path = np.stack([_face_at(*(start + t * (end - start))) for t in np.linspace(0.0, 1.0, 17)])
            assert np.abs(np.diff(path, axis=0)).max() < 0.3 * c[i, j], (start, end)
    assert faces[40, 40].max() < 0.05  # the origin is (nearly) neutral
    smile = BLENDSHAPE_INDEX["mouthSmileLeft"]
    assert faces[-1, 50, smile] > 0.5 > faces[0, 50, smile]  # pleasant smiles, unpleasant does not


def test_category_faces_and_their_vad_points_agree():
    for category in ("joy", "sadness", "surprise", "anger"):
        emotion = Emotion.from_category(category)
        point = Emotion.from_vad(emotion.valence, emotion.arousal, emotion.dominance)
        a, b = emotion_to_blendshapes(emotion), emotion_to_blendshapes(point)
        assert np.corrcoef(a, b)[0, 1] > 0.8, category


def test_blendshape_inputs_are_checked():
    assert check_blendshapes({"jawOpen": 0.5, "_neutral": 0.9})[BLENDSHAPE_INDEX["jawOpen"]] == 0.5
    with pytest.raises(EmotionError, match=r"mouthSmileLeft=1\.5"):
        check_blendshapes({"mouthSmileLeft": 1.5})
    with pytest.raises(EmotionError, match="browDownLeft=nan"):
        check_blendshapes(np.full(52, np.nan))
    with pytest.raises(EmotionError, match=r"shape \(52,\)"):
        check_blendshapes(np.zeros(51))
    with pytest.raises(EmotionError, match="unknown blendshape names.*'smile'"):
        check_blendshapes({"smile": 1.0})
    with pytest.raises(EmotionError, match="must be a number"):
        check_blendshapes({"jawOpen": "wide"})


def test_emotion_specs_are_accepted_and_bad_ones_name_the_problem():
    assert np.array_equal(emotion_to_blendshapes("happy:0.5"), emotion_to_blendshapes(Emotion.parse("joy:0.5")))
    assert set(emotion_to_blendshape_dict("v=0.7,a=0.4")) == set(BLENDSHAPE_NAMES)
    with pytest.raises(EmotionError, match="unknown emotion category"):
        emotion_to_blendshapes("hapy-ness")
