"""The avatar renderer: identities, poses, expressions and their pixels."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.face.avatar import HAIR_STYLES, Identity, Pose, render_emotion, render_face
from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES, emotion_to_blendshapes

CATEGORIES = ["neutral", "joy", "sadness", "surprise", "fear", "anger", "disgust", "contempt"]
# Where the face sits in a 128 px frame at the default pose (rows, columns).
FACE_BOX = (slice(20, 110), slice(32, 96))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image).astype(np.int16)


def shapes(**values: float) -> np.ndarray:
    vector = np.zeros(len(BLENDSHAPE_NAMES))
    for name, value in values.items():
        vector[BLENDSHAPE_INDEX[name]] = value
    return vector


def face_units_to_pixels(x: float, y: float, size: int) -> tuple[int, int]:
    """Column and row of a face-unit point at the default pose (as avatar.py lays the face out)."""
    from emogen.face.avatar import FACE_SCALE, HEAD_CENTER

    return round((HEAD_CENTER[0] + FACE_SCALE * x) * size), round((HEAD_CENTER[1] + FACE_SCALE * y) * size)


def test_rendering_is_deterministic():
    first = render_emotion("joy", 7, 128)
    second = render_face(Identity.from_seed(7), emotion_to_blendshapes("joy"), size=128)
    assert first.tobytes() == second.tobytes()
    assert Identity.from_seed(7) == Identity.from_seed(7)


def test_seeds_give_different_identities():
    identities = [Identity.from_seed(seed) for seed in range(40)]
    assert len(set(identities)) == 40
    assert len({i.hair_style for i in identities}) >= 5
    assert len({i.face_shape for i in identities}) >= 4
    assert any(i.glasses for i in identities) and any(i.beard for i in identities)
    assert any(i.glasses is None for i in identities)
    images = {render_emotion("neutral", seed, 64).tobytes() for seed in range(12)}
    assert len(images) == 12


@pytest.mark.parametrize("size", [64, 100, 128, 256, 512])
def test_sizes(size):
    image = render_emotion("surprise", 3, size)
    assert image.mode == "RGB" and image.size == (size, size)
    rgb = pixels(image)
    assert rgb.std() > 20  # a picture, not a flat fill


@pytest.mark.parametrize("size", [0, 32, 63, 513, 2048, 128.0, "128", True, None])
def test_bad_sizes_are_refused(size):
    with pytest.raises(EmotionError, match=r"size must be an integer number of pixels in \[64, 512\]"):
        render_face(Identity(), shapes(), size=size)


@pytest.mark.parametrize("values, message", [
    (shapes(jawOpen=1.5), "jawOpen=1.5"),
    (shapes(browInnerUp=-0.1), "browInnerUp=-0.1"),
    (np.full(52, np.nan), "browDownLeft=nan"),
    (np.zeros(10), r"shape \(52,\)"),
    ({"mouthSmile": 0.5}, "unknown blendshape names"),
])
def test_bad_blendshapes_are_refused(values, message):
    with pytest.raises(EmotionError, match=message):
        render_face(Identity(), values, size=64)


def test_blendshape_dicts_render_like_vectors():
    vector = emotion_to_blendshapes("fear")
    as_dict = {name: float(v) for name, v in zip(BLENDSHAPE_NAMES, vector)}
    as_dict["_neutral"] = 0.1  # MediaPipe's extra score is ignored
    assert render_face(Identity(), as_dict).tobytes() == render_face(Identity(), vector).tobytes()


def test_zero_intensity_is_the_neutral_face():
    assert render_emotion("joy:0", 5, 96).tobytes() == render_emotion("neutral", 5, 96).tobytes()


@pytest.mark.parametrize("seed", [0, 2, 5, 7, 13])
def test_emotions_give_clearly_different_faces(seed):
    images = {c: pixels(render_emotion(c, seed, 128)) for c in CATEGORIES}
    for a, b in itertools.combinations(CATEGORIES, 2):
        changed = (np.abs(images[a] - images[b]).max(axis=2) > 20)[FACE_BOX].sum()
        # Contempt is a one-sided smirk, the subtlest of the eight; the others move much more.
        assert changed >= (30 if "contempt" in (a, b) else 150), (a, b, changed)
        # Expressions change the face, not the background.
        assert np.array_equal(images[a][:16, :16], images[b][:16, :16])


def _count(image: Image.Image, rows: slice, cols: slice, test) -> int:
    return int(test(pixels(image)[rows, cols]).sum())


def _eye_band(size: int) -> tuple[slice, slice]:
    left, top = face_units_to_pixels(-0.7, -0.3, size)
    right, bottom = face_units_to_pixels(0.7, 0.05, size)
    return slice(top, bottom), slice(left, right)


def _mouth_box(size: int) -> tuple[slice, slice]:
    left, top = face_units_to_pixels(-0.5, 0.55, size)
    right, bottom = face_units_to_pixels(0.5, 1.3, size)
    return slice(top, bottom), slice(left, right)


def _white(rgb: np.ndarray) -> np.ndarray:
    return (rgb > 225).all(axis=2)


def _dark(rgb: np.ndarray) -> np.ndarray:
    return rgb.mean(axis=2) < 90


def test_eyelids_follow_blink_and_wide():
    person, size = Identity(hair_style="bald"), 256
    band = _eye_band(size)
    whites = {name: _count(render_face(person, shapes(**values), size=size), *band, _white)
              for name, values in {"open": {}, "wide": {"eyeWideLeft": 1, "eyeWideRight": 1},
                                   "blink": {"eyeBlinkLeft": 1, "eyeBlinkRight": 1},
                                   "left shut": {"eyeBlinkLeft": 1}}.items()}
    assert whites["wide"] > 1.2 * whites["open"] > 0
    assert whites["blink"] == 0
    assert 0.3 * whites["open"] < whites["left shut"] < 0.7 * whites["open"]


def test_jaw_opens_a_dark_mouth_with_teeth():
    person, size = Identity(), 256
    box = _mouth_box(size)
    dark = [_count(render_face(person, shapes(jawOpen=j), size=size), *box, _dark) for j in (0.0, 0.4, 0.8)]
    teeth = [_count(render_face(person, shapes(jawOpen=j), size=size), *box, _white) for j in (0.0, 0.4, 0.8)]
    assert dark[0] < dark[1] < dark[2]
    assert teeth[0] == 0 < teeth[1]


def test_smile_raises_the_mouth_corners_and_frown_lowers_them():
    person, size = Identity(), 256
    rows, cols = _mouth_box(size)

    def corner_height(values: dict) -> float:
        # Lip-line pixels (dark) in the outer fifths of the mouth box: their mean row.
        rgb = pixels(render_face(person, shapes(**values), size=size))[rows, cols]
        line = rgb.mean(axis=2) < 110
        width = line.shape[1]
        ys, xs = np.nonzero(line)
        outer = (xs < 0.3 * width) | (xs > 0.7 * width)
        return float(ys[outer].mean())

    neutral = corner_height({})
    assert corner_height({"mouthSmileLeft": 1, "mouthSmileRight": 1}) < neutral - 3
    assert corner_height({"mouthFrownLeft": 1, "mouthFrownRight": 1}) > neutral + 3


def test_one_sided_shapes_act_on_the_subjects_side():
    # ARKit's Left is the subject's left: the image's right half in a frontal view.
    person, size = Identity(), 128
    base = pixels(render_face(person, shapes(), size=size))
    left = pixels(render_face(person, shapes(mouthSmileLeft=1), size=size))
    changed = np.nonzero(np.abs(left - base).max(axis=2) > 20)
    assert changed[1].mean() > size / 2 + 3


def test_pose_turns_and_moves_the_head():
    person, size = Identity(hair_style="bald"), 128
    rows, cols = _eye_band(size)

    def features_x(pose: Pose) -> float:
        dark = _dark(pixels(render_face(person, shapes(), pose, size))[rows, cols])
        return float(np.nonzero(dark)[1].mean())

    assert features_x(Pose(yaw=20)) > features_x(Pose()) + 2 > features_x(Pose(yaw=-20)) + 4
    centred, shifted = render_face(person, shapes(), Pose(x=0.1), size), render_face(person, shapes(), None, size)
    assert centred.tobytes() != shifted.tobytes()
    assert render_face(person, shapes(), Pose(roll=15, scale=0.8, y=-0.1), 64).size == (64, 64)


@pytest.mark.parametrize("kwargs, message", [
    ({"yaw": 45}, r"pose yaw must be in \[-30, 30\]"),
    ({"roll": float("nan")}, "pose roll"),
    ({"scale": 3}, "pose scale"),
    ({"x": "left"}, "pose x must be a number"),
])
def test_bad_poses_are_refused(kwargs, message):
    with pytest.raises(EmotionError, match=message):
        Pose(**kwargs)


def test_bad_identities_are_refused():
    with pytest.raises(EmotionError, match="hair_style must be one of short, long"):
        Identity(hair_style="mohawk")
    with pytest.raises(EmotionError, match=r"skin must be an \(r, g, b\) tuple"):
        Identity(skin=(300, 0, 0))
    with pytest.raises(EmotionError, match="eye_size"):
        Identity(eye_size=3.0)
    for seed in (-1, 1.5, "7", True):
        with pytest.raises(EmotionError, match="identity seed must be a non-negative integer"):
            Identity.from_seed(seed)
    with pytest.raises(EmotionError, match="identity must be an Identity"):
        render_face(3, shapes())


def test_every_hair_style_and_accessory_renders():
    for style in HAIR_STYLES:
        for glasses, beard in ((None, None), ("round", "full"), ("square", "stubble")):
            image = render_face(Identity(hair_style=style, glasses=glasses, beard=beard), shapes(jawOpen=0.5),
                                Pose(yaw=-15), size=64)
            assert image.size == (64, 64)


def test_render_emotion_reads_any_spec():
    by_spec = render_emotion("0.6 joy + 0.4 surprise", 1, 64)
    by_emotion = render_emotion(Emotion.parse("0.6 joy + 0.4 surprise"), 1, 64)
    assert by_spec.tobytes() == by_emotion.tobytes()
    with pytest.raises(EmotionError, match="unknown emotion category"):
        render_emotion("glee-ish", 1, 64)


@pytest.fixture(scope="module")
def landmarker():
    pytest.importorskip("mediapipe")
    from emogen.face.landmarks import FaceLandmarker

    try:
        with FaceLandmarker() as model:
            yield model
    except FileNotFoundError as missing:
        pytest.skip(str(missing))


def test_mediapipe_reads_the_intended_expressions(landmarker):
    """An independent reader: MediaPipe's own blendshape estimates from the rendered pixels,
    averaged over three identities, relative to each identity's neutral face."""
    seeds = (0, 2, 4)
    read = {(seed, category): landmarker.detect(np.asarray(render_emotion(category, seed, 256)))
            for seed in seeds for category in CATEGORIES}
    assert all(read.values()), [key for key, faces in read.items() if not faces]

    def rise(category: str, *names: str) -> float:
        return float(np.mean([read[seed, category][0].blendshapes[n] - read[seed, "neutral"][0].blendshapes[n]
                              for seed in seeds for n in names]))

    assert rise("joy", "mouthSmileLeft", "mouthSmileRight") > 0.6
    assert rise("surprise", "jawOpen") > 0.25 and rise("surprise", "browInnerUp") > 0.3
    assert rise("fear", "mouthStretchLeft", "mouthStretchRight") > 0.4
    assert rise("sadness", "browInnerUp") > 0.3
    assert rise("disgust", "mouthFrownLeft", "mouthFrownRight") > 0.3
    # The smirk is on the subject's right, and MediaPipe names it so.
    assert rise("contempt", "mouthSmileRight") > rise("contempt", "mouthSmileLeft") + 0.15
