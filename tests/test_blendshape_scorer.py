"""The rule-based blendshape scorer: the pure FACS/EMFACS rules on synthetic blendshapes and
geometry, and the whole scorer on real photos with the real MediaPipe landmarker."""
from __future__ import annotations

import math
import struct
import zipfile

import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_NAMES
from emogen.score import blendshape as B

MEAD8 = {"neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise", "contempt"}


def both(stem: str, value: float) -> dict[str, float]:
    return {f"{stem}Left": value, f"{stem}Right": value}


def top(probs: dict[str, float]) -> str:
    return max(probs, key=probs.get)


# --- the rules, without the landmarker ---------------------------------------------------------

EXPRESSIONS = {
    "joy": {**both("mouthSmile", 0.9), **both("eyeSquint", 0.5), **both("mouthUpperUp", 0.6), "jawOpen": 0.2},
    "sadness": {"browInnerUp": 0.8, **both("browDown", 0.4), **both("mouthFrown", 0.7), "mouthShrugLower": 0.3},
    "surprise": {"browInnerUp": 0.9, **both("browOuterUp", 0.8), **both("eyeWide", 0.7), "jawOpen": 0.8},
    "fear": {"browInnerUp": 0.9, **both("browOuterUp", 0.6), **both("browDown", 0.5), **both("eyeWide", 0.8),
             **both("mouthStretch", 0.8), "jawOpen": 0.5},
    "anger": {**both("browDown", 0.8), **both("eyeSquint", 0.5), **both("mouthPress", 0.8), **both("eyeWide", 0.2)},
    "disgust": {**both("noseSneer", 0.8), **both("mouthUpperUp", 0.7), **both("mouthFrown", 0.4),
                **both("mouthLowerDown", 0.3)},
    "contempt": {"mouthSmileRight": 0.6, "mouthDimpleRight": 0.5},
    "neutral": {name: 0.05 for name in BLENDSHAPE_NAMES},
}


@pytest.mark.parametrize("expected", list(EXPRESSIONS))
def test_prototype_blendshapes_score_their_category(expected):
    probs = B.rule_probs(EXPRESSIONS[expected])
    assert set(probs) == MEAD8
    assert math.isclose(sum(probs.values()), 1.0, abs_tol=1e-9)
    assert top(probs) == expected, probs


def test_empty_face_is_neutral_and_array_input_matches_mapping():
    assert top(B.rule_probs({})) == "neutral"
    smile = EXPRESSIONS["joy"]
    array = np.array([smile.get(name, 0.0) for name in BLENDSHAPE_NAMES])
    assert B.rule_probs(array) == pytest.approx(B.rule_probs({**smile, "_neutral": 0.3}))


def test_stronger_smile_reads_more_joy():
    weak, strong = (B.rule_probs(both("mouthSmile", v))["joy"] for v in (0.4, 0.9))
    assert strong > weak
    assert top(B.rule_probs(both("mouthSmile", 0.12))) == "neutral"  # below the noise floor


def test_upper_lip_raised_by_a_smile_is_not_disgust():
    # FACS scores AU 10 in a smile only beyond what AU 12 raises: an open smile stays joy.
    probs = B.rule_probs({**both("mouthSmile", 0.9), **both("mouthUpperUp", 0.8)})
    assert top(probs) == "joy" and probs["disgust"] < 0.05
    assert B.blendshape_aus({**both("mouthSmile", 0.9), **both("mouthUpperUp", 0.8)})["10"] == 0.0
    assert B.blendshape_aus(both("mouthUpperUp", 0.8))["10"] == pytest.approx(0.8)


def test_one_sided_smile_is_contempt_and_symmetric_smile_is_not():
    aus = B.blendshape_aus({"mouthSmileLeft": 0.7})
    assert aus["U"] == pytest.approx(0.7) and aus["12"] == 0.0
    probs = B.rule_probs(both("mouthSmile", 0.7))
    assert top(probs) == "joy" and probs["contempt"] < 0.1


def test_silent_mediapipe_blendshapes_are_substituted():
    assert B.blendshape_aus(both("eyeSquint", 0.6))["6"] == pytest.approx(0.6)  # cheekSquint stays ~0 in MediaPipe
    assert B.blendshape_aus(both("mouthUpperUp", 0.5))["9"] == pytest.approx(0.5)  # noseSneer too


def test_category_scores_follow_emfacs_combinations():
    aus = {"1": 1.0, "2": 1.0, "5": 1.0, "26": 1.0}
    scores = B.category_scores(aus)
    assert scores["surprise"] == pytest.approx(1.0)
    assert scores["fear"] < scores["surprise"]
    scores = B.category_scores({**aus, "4": 1.0, "20": 1.0})  # lips stretched + brows drawn: fear
    assert max(scores, key=scores.get) == "fear"
    assert B.category_scores({})["neutral"] == B.NEUTRAL_LEVEL
    assert all(v == 0.0 for c, v in B.category_scores({}).items() if c != "neutral")


def test_temperature_calibration():
    # A face matching one prototype fully and no other reads about 0.95 (see TEMPERATURE).
    probs = B.softmax({"a": 1.0, **{str(i): 0.0 for i in range(7)}})
    assert probs["a"] == pytest.approx(0.95, abs=0.005)


def test_bad_blendshapes_raise():
    with pytest.raises(EmotionError, match="unknown blendshape"):
        B.rule_probs({"smile": 1.0})
    with pytest.raises(EmotionError, match=r"\[0, 1\]"):
        B.rule_probs({"jawOpen": 1.5})


# --- geometry, on the canonical face posed synthetically ---------------------------------------

def posed_landmarks(yaw: float = 0.0, roll: float = 0.0, edits: dict[int, tuple[float, float]] | None = None) -> np.ndarray:
    """478 landmarks in image pixels (y down, z negative towards the camera) of the canonical face,
    with optional (dx, dy) moves in canonical units (y up), turned by yaw and roll."""
    points = np.zeros((478, 3))
    for i, p in B.CANONICAL.items():
        points[i] = p
    for i, (dx, dy) in (edits or {}).items():
        points[i, :2] += (dx, dy)
    a, r = math.radians(yaw), math.radians(roll)
    yaw_m = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    roll_m = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    points = points @ (roll_m @ yaw_m).T
    return points * np.array([12.0, -12.0, -12.0]) + np.array([256.0, 240.0, 0.0])


@pytest.mark.parametrize("yaw, roll", [(0, 0), (25, 0), (-20, 10), (0, -15)])
def test_canonical_face_has_no_movement_in_any_pose(yaw, roll):
    g = B.face_geometry(posed_landmarks(yaw, roll))
    for name in ("brow_inner", "brow_outer", "corner_right", "corner_left"):
        assert abs(g[name]) < 1e-6, (name, g[name])
    assert abs(g["yaw"]) == pytest.approx(abs(yaw), abs=1e-6)


def test_geometry_measures_raised_corners_and_brows_through_pose():
    iod = 2 * 3.151  # canonical eye centres are +-3.15 apart in x
    smile = {61: (0.0, 0.2 * iod), 291: (0.0, 0.2 * iod)}
    g = B.face_geometry(posed_landmarks(20, 5, smile))
    assert g["corner_left"] == pytest.approx(0.2, abs=0.01) and g["corner_right"] == pytest.approx(0.2, abs=0.01)
    assert B.geometry_aus(g)["12"] == pytest.approx(1.0, abs=1e-3) and B.geometry_aus(g)["U"] < 0.1
    # Geometry alone (blendshapes at rest) is evidence enough for joy.
    assert top(B.rule_probs({}, g)) == "joy"

    smirk = B.face_geometry(posed_landmarks(0, 0, {291: (0.0, 0.15 * iod)}))
    assert B.geometry_aus(smirk)["U"] == pytest.approx(1.0, abs=1e-3)

    lowered = {i: (0.0, -0.1 * iod) for i in (107, 66, 336, 296)}
    assert B.geometry_aus(B.face_geometry(posed_landmarks(0, 0, lowered)))["4"] == pytest.approx(1.0, abs=1e-3)


def test_geometry_rejects_bad_landmarks():
    with pytest.raises(EmotionError, match="468 or 478"):
        B.face_geometry(np.zeros((10, 3)))


def _protobuf_fields(data: bytes):
    def varint(i):
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i
    i = 0
    while i < len(data):
        key, i = varint(i)
        kind = key & 7
        if kind == 0:
            value, i = varint(i)
        elif kind == 2:
            length, i = varint(i)
            value, i = data[i:i + length], i + length
        elif kind == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise AssertionError(f"wire type {kind}")
        yield key >> 3, kind, value


def test_canonical_table_matches_the_model_file():
    from emogen.face.landmarks import landmarker_model_path

    try:
        path = landmarker_model_path()
    except EmotionError:
        pytest.skip("face_landmarker.task not fetched")
    with zipfile.ZipFile(path) as task:
        metadata = task.read("geometry_pipeline_metadata_landmarks.binarypb")
    top_fields = list(_protobuf_fields(metadata))
    mesh = next(v for f, _, v in top_fields if f == 1)
    floats = [struct.unpack("<f", v)[0] for f, _, v in _protobuf_fields(mesh) if f == 3]
    vertices = np.array(floats).reshape(-1, 5)[:, :3]  # x, y, z, u, v
    assert vertices.shape == (468, 3)
    for i, point in B.CANONICAL.items():
        np.testing.assert_allclose(point, vertices[i], atol=1e-5)
    basis = {}
    for f, _, v in top_fields:
        if f == 2:
            entry = {f2: v2 for f2, _, v2 in _protobuf_fields(v)}
            basis[entry.get(1, 0)] = struct.unpack("<f", entry[2])[0]
    assert set(basis) == set(B.PROCRUSTES_BASIS)
    for i, weight in basis.items():
        assert B.PROCRUSTES_BASIS[i] == pytest.approx(weight, abs=1e-6)


# --- the scorer on real photos ------------------------------------------------------------------

@pytest.fixture(scope="module")
def scorer():
    pytest.importorskip("mediapipe")
    return B.BlendshapeScorer()


def test_astronaut_scores_joy(scorer, astronaut):
    estimate = scorer.score(astronaut)
    assert estimate.top1 == "joy"
    assert set(estimate.probs) == MEAD8
    assert math.isclose(sum(estimate.probs.values()), 1.0, abs_tol=1e-9)
    assert estimate.valence > 0.2 and estimate.probs["joy"] > 0.4
    assert estimate.confidence == pytest.approx(max(estimate.probs.values()))
    assert estimate.scorer == "blendshape" and estimate.notes == ()
    assert scorer.name == "blendshape" and scorer.category_set == "mead8"


def test_astronaut_without_geometry_is_still_joy(astronaut):
    pytest.importorskip("mediapipe")
    assert B.BlendshapeScorer(use_geometry=False).score(astronaut).top1 == "joy"


def test_no_face_raises(scorer):
    with pytest.raises(EmotionError, match="no face"):
        scorer.score(np.full((256, 256, 3), 128, np.uint8))


def test_tiny_image_says_the_minimum(scorer):
    with pytest.raises(EmotionError, match=f"at least {B.MIN_IMAGE_SIDE}"):
        scorer.score(np.zeros((20, 30, 3), np.uint8))


def test_not_an_image(scorer, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(EmotionError, match="notes.png"):
        scorer.score(path)
    with pytest.raises(EmotionError, match="numpy array"):
        scorer.score(12)


def test_several_faces_scores_the_largest(scorer, two_astronauts):
    canvas, width = two_astronauts
    estimate = scorer.score(canvas)
    faces = scorer.landmarker.detect(canvas)
    assert len(faces) == 2 and estimate.notes == ("2 faces found, scored the largest",)
    assert faces[0].bbox[2] <= width < faces[1].bbox[0]
    assert estimate.probs == pytest.approx(scorer.face_probs(faces[0])[0], abs=1e-12)
    assert estimate.top1 == "joy"


def test_registered_scorer():
    pytest.importorskip("mediapipe")
    from emogen.score.registry import SCORERS

    assert SCORERS["blendshape"] == ("emogen.score.blendshape", "BlendshapeScorer")
