"""PhotoPortrait: the real-photo talking-head renderer, on real photos with the real landmarker."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut
from skimage.metrics import structural_similarity

from emogen.errors import EmotionError
from emogen.face.landmarks import FaceLandmarker
from emogen.face.rig import BLENDSHAPE_INDEX, check_blendshapes, emotion_to_blendshapes
from emogen.talking.photo import MIN_FACE_PX, PhotoPortrait, read_photo
from emogen.talking.photo_mesh import LIPS_LOWER_INNER, LIPS_UPPER_INNER
from emogen.talking.photo_motion import FaceFrame

pytest.importorskip("mediapipe")


@pytest.fixture(scope="module")
def landmarker():
    with FaceLandmarker() as model:
        yield model


@pytest.fixture(scope="module")
def portrait(landmarker):
    return PhotoPortrait(astronaut(), size=256, landmarker=landmarker)


def with_value(values: np.ndarray, **changes: float) -> np.ndarray:
    values = values.copy()
    for name, value in changes.items():
        values[BLENDSHAPE_INDEX[name]] = value
    return values


# --- reading photos ----------------------------------------------------------------------------------

def test_grayscale_file_is_read_as_rgb(tmp_path, landmarker):
    path = tmp_path / "gray.png"
    Image.fromarray(astronaut()).convert("L").save(path)
    rgb = read_photo(path)
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    frame = PhotoPortrait(path, landmarker=landmarker).render(emotion_to_blendshapes("joy"))
    assert frame.shape == (256, 256, 3)


def test_rgba_file_is_composited_on_white(tmp_path, landmarker):
    rgba = np.dstack([astronaut(), np.full((512, 512), 255, np.uint8)])
    rgba[:100, :100, 3] = 0  # a transparent corner whose hidden colour is the photo's
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = read_photo(path)
    assert (rgb[:100, :100] == 255).all()
    assert np.array_equal(rgb[200:, 200:], astronaut()[200:, 200:])
    PhotoPortrait(path, landmarker=landmarker)


def test_cmyk_jpeg_is_converted(tmp_path, landmarker):
    path = tmp_path / "print.jpg"
    Image.fromarray(astronaut()).convert("CMYK").save(path, quality=95)
    with Image.open(path) as opened:
        assert opened.mode == "CMYK"
    rgb = read_photo(path)
    assert rgb.shape == (512, 512, 3)
    assert np.abs(rgb.astype(int) - astronaut().astype(int)).mean() < 12  # JPEG loss only
    PhotoPortrait(path, landmarker=landmarker)


def test_16_bit_png_is_scaled_to_8_bits(tmp_path, landmarker):
    gray = np.asarray(Image.fromarray(astronaut()).convert("L"))
    path = tmp_path / "deep.png"
    Image.fromarray(gray.astype(np.uint16) * 257).save(path)
    with Image.open(path) as opened:
        assert opened.mode.startswith("I")
    rgb = read_photo(path)
    assert np.abs(rgb[..., 0].astype(int) - gray).max() <= 1
    PhotoPortrait(path, landmarker=landmarker)


def test_exif_rotation_is_applied(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(astronaut()[:, :300]).save(path, exif=exif)
    assert read_photo(path).shape == (300, 512, 3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((64, 64, 3), dtype=np.int8), "dtype int8"),
    (np.full((64, 64, 3), 2.0), "float portrait"),
    (np.zeros((64, 64, 5), dtype=np.uint8), "shape"),
    (42, "got int"),
])
def test_bad_arrays_and_types(bad, message):
    with pytest.raises(EmotionError, match=message):
        read_photo(bad)


def test_missing_and_unreadable_files(tmp_path, landmarker):
    with pytest.raises(EmotionError, match="is not a file"):
        PhotoPortrait(tmp_path / "nowhere.jpg", landmarker=landmarker)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    with pytest.raises(EmotionError, match="broken.jpg is not a readable image"):
        PhotoPortrait(broken, landmarker=landmarker)


def test_unsupported_size(landmarker):
    with pytest.raises(EmotionError, match="size 300 .* accepted: 256, 512"):
        PhotoPortrait(astronaut(), size=300, landmarker=landmarker)


def test_tiny_image(landmarker):
    tiny = cv2.resize(astronaut(), (40, 40), interpolation=cv2.INTER_AREA)
    with pytest.raises(EmotionError, match=f"40x40 pixels.*at least {MIN_FACE_PX}"):
        PhotoPortrait(tiny, landmarker=landmarker)


def test_tiny_face_names_its_size_and_the_minimum(landmarker):
    small = cv2.resize(astronaut(), (200, 200), interpolation=cv2.INTER_AREA)  # face ~35 px wide
    assert landmarker.detect(small), "the landmarker should still find the small face"
    with pytest.raises(EmotionError, match=rf"the face is \d+x\d+ pixels.*at least {MIN_FACE_PX} pixels wide"):
        PhotoPortrait(small, landmarker=landmarker)


def test_huge_image_is_framed_like_the_original(landmarker, portrait):
    huge = cv2.resize(astronaut(), (4096, 4096), interpolation=cv2.INTER_CUBIC)
    big = PhotoPortrait(huge, landmarker=landmarker)
    assert np.allclose(np.array(big.crop_box) / 8, portrait.crop_box, atol=2)
    assert big.render(emotion_to_blendshapes("sadness")).shape == (256, 256, 3)


def test_no_face(landmarker):
    from skimage.data import coffee

    with pytest.raises(EmotionError, match="no face found in the 600x400 portrait"):
        PhotoPortrait(coffee(), landmarker=landmarker)
    with pytest.raises(EmotionError, match="no face found"):
        PhotoPortrait(np.full((300, 300, 3), 128, np.uint8), landmarker=landmarker)


def test_several_faces_animate_the_largest_with_a_warning(landmarker):
    photo = astronaut()
    smaller = cv2.resize(photo, (384, 384), interpolation=cv2.INTER_AREA)
    group = np.full((512, 512 + 384, 3), 255, np.uint8)
    group[:, :512] = photo
    group[64:448, 512:] = smaller
    both = PhotoPortrait(group, landmarker=landmarker)
    assert both.warnings == ("2 faces found, animating the largest",)
    x0, _, x1, _ = both.crop_box
    assert (x0 + x1) / 2 < 512  # framed on the full-size astronaut, not the smaller copy
    assert PhotoPortrait(photo, landmarker=landmarker).warnings == ()


# --- rendering ---------------------------------------------------------------------------------------

def test_render_validates_blendshapes_and_pose(portrait):
    with pytest.raises(EmotionError, match="shape"):
        portrait.render(np.zeros(10))
    with pytest.raises(EmotionError, match=r"\[0, 1\]"):
        portrait.render(with_value(np.zeros(52), jawOpen=1.5))
    with pytest.raises(EmotionError, match="yaw 45.0 degrees is outside"):
        portrait.render(np.zeros(52), pose=(45, 0, 0))
    with pytest.raises(EmotionError, match="pose must be"):
        portrait.render(np.zeros(52), pose=(1, 2))


def test_the_stills_own_blendshapes_give_the_still(portrait):
    assert np.array_equal(portrait.render(portrait.still_blendshapes), portrait.still)


def test_neutral_render_stays_close_to_the_still(portrait):
    neutral = portrait.render(np.zeros(52))
    gray = [cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in (neutral, portrait.still)]
    assert structural_similarity(*gray) > 0.85
    # The astronaut smiles; neutral must change her face, but not move it.
    faces = portrait.landmarker.detect(neutral)
    assert faces
    frame = FaceFrame.from_landmarks(portrait.face.landmarks)
    shift = np.linalg.norm(faces[0].landmarks[:, :2] - portrait.face.landmarks[:, :2], axis=1)
    assert np.median(shift) / frame.iod < 0.05
    assert faces[0].blendshapes["mouthSmileLeft"] < portrait.face.blendshapes["mouthSmileLeft"] - 0.2


def test_jaw_open_opens_the_mouth_as_the_landmarker_sees_it(portrait):
    closed = portrait.render(with_value(portrait.still_blendshapes, jawOpen=0.0))
    opened = portrait.render(with_value(portrait.still_blendshapes, jawOpen=0.8))
    found = [portrait.landmarker.detect(f)[0] for f in (closed, opened)]
    iod = FaceFrame.from_landmarks(found[0].landmarks).iod
    gaps = [abs(f.landmarks[LIPS_LOWER_INNER[5], 1] - f.landmarks[LIPS_UPPER_INNER[5], 1]) / iod for f in found]
    assert gaps[1] - gaps[0] > 0.15
    assert found[1].blendshapes["jawOpen"] > found[0].blendshapes["jawOpen"] + 0.15
    # The opening is painted as a mouth: the middle of the parted lips is dark.
    lips = found[1].landmarks
    middle = ((lips[LIPS_UPPER_INNER[5], :2] + lips[LIPS_LOWER_INNER[5], :2]) / 2).round().astype(int)
    patch = opened[middle[1] - 2:middle[1] + 3, middle[0] - 2:middle[0] + 3]
    assert patch.mean() < 110


def test_background_pixels_stay_unchanged(portrait):
    still_region = portrait.mesh.static_mask
    assert 0.3 < still_region.mean() < 0.9
    for values, pose in [(emotion_to_blendshapes("surprise"), None),
                         (emotion_to_blendshapes("anger"), (12.0, -8.0, 10.0))]:
        frame = portrait.render(values, pose)
        assert np.array_equal(frame[still_region], portrait.still[still_region])
        assert not np.array_equal(frame, portrait.still)


def test_head_pose_turns_the_face(portrait):
    turned = portrait.render(portrait.still_blendshapes, pose=(15.0, 0.0, 0.0))
    face = portrait.landmarker.detect(turned)[0]
    nose_shift = face.landmarks[1, 0] - portrait.face.landmarks[1, 0]
    assert nose_shift > 0.1 * FaceFrame.from_landmarks(portrait.face.landmarks).iod  # to the image's right


@pytest.mark.parametrize("size", [256, 512])
def test_output_sizes(landmarker, size):
    portrait = PhotoPortrait(astronaut(), size=size, landmarker=landmarker)
    frame = portrait.render(emotion_to_blendshapes("surprise"), pose=(5.0, 3.0, -2.0))
    assert frame.shape == (size, size, 3) and frame.dtype == np.uint8
    assert portrait.still.shape == (size, size, 3)


# --- calibration against the landmarker (emogen.talking.photo_calibration) ---------------------------

def test_calibrated_gains_cover_every_group_within_the_limits():
    from emogen.talking.photo_calibration import CALIBRATION_GROUPS, MAX_GAIN
    from emogen.talking.photo_motion import CALIBRATED_GAINS, CALIBRATION_GROUP_GAINS

    assert set(CALIBRATION_GROUP_GAINS) == set(CALIBRATION_GROUPS)
    for group, names in CALIBRATION_GROUPS.items():
        assert all(CALIBRATED_GAINS[n] == CALIBRATION_GROUP_GAINS[group] for n in names)
    assert all(0.25 <= g <= MAX_GAIN for g in CALIBRATED_GAINS.values())


def test_rig_applies_the_gains(portrait):
    from emogen.talking.photo_motion import ExpressionRig

    plain = ExpressionRig(portrait.face.landmarks, gains={})
    index = BLENDSHAPE_INDEX["browOuterUpLeft"]
    gain = portrait.rig.gains[index]
    assert gain != 1.0
    assert np.allclose(portrait.rig.basis[index], gain * plain.basis[index])


@pytest.mark.parametrize("group, commanded, at_least", [("browInnerUp", 0.8, 0.6), ("mouthSmile", 0.8, 0.6),
                                                        ("browOuterUp", 0.8, 0.45), ("jawOpen", 0.8, 0.4)])
def test_commanded_blendshape_is_re_measured(portrait, group, commanded, at_least):
    from emogen.talking.photo_calibration import response

    neutral, reading = response(portrait, group, levels=(0.0, commanded))
    assert reading >= at_least and reading - neutral >= at_least - 0.15


@pytest.fixture(scope="module")
def avatar_portrait(landmarker):
    """An EmoFaces avatar as a photo: dark, thick brows that MediaPipe tracks (on the astronaut's
    light brows its landmarks hardly follow a visibly lowered brow)."""
    from emogen.face.avatar import Identity, render_face

    still = np.asarray(render_face(Identity.from_seed(1), np.zeros(52), size=512).convert("RGB"))
    return PhotoPortrait(still, size=256, landmarker=landmarker)


def test_brow_lowering_is_seen_in_the_geometry(avatar_portrait):
    from emogen.talking.photo_calibration import response

    neutral, lowered = response(avatar_portrait, "browDown", levels=(0.0, 1.0))
    assert lowered - neutral > 0.25  # AU4 units: 0.025 IOD of the re-detected inner brows


def test_fold_check_finds_folds_and_clean_warps(portrait):
    from emogen.talking.photo_calibration import CALIBRATION_GROUPS, folded_fraction, folds

    assert not folds(portrait, CALIBRATION_GROUPS["browInnerUp"], 1.0)
    assert folded_fraction(portrait, CALIBRATION_GROUPS["browDown"], 3.0) > 0.02


@pytest.mark.slow
def test_fit_group_recovers_a_gain_near_the_table(portrait):
    from emogen.talking.photo_calibration import fit_group

    fit = fit_group([portrait], "browOuterUp")
    assert fit.visible and 1.25 <= fit.gain <= 2.0
    assert fit.slopes[min(fit.slopes)] < fit.slopes[fit.gain]  # more gain, steeper until the cap


def test_surprise_shows_no_smile_cues(portrait, landmarker):
    from emogen.talking.photo import teeth_shown

    surprise, joy = emotion_to_blendshapes("surprise"), emotion_to_blendshapes("joy")
    assert teeth_shown(surprise) < 0.25 < 0.8 < teeth_shown(joy)
    found = landmarker.detect(portrait.render(surprise))[0].blendshapes
    assert found["jawOpen"] > 0.3
    assert max(found["mouthSmileLeft"], found["mouthSmileRight"]) < 0.2  # the still's smile is gone


def test_anger_lowers_the_brows(avatar_portrait, landmarker):
    from emogen.score.blendshape import face_geometry

    portrait = avatar_portrait
    neutral = landmarker.detect(portrait.render(np.zeros(52)))[0]
    angry = landmarker.detect(portrait.render(emotion_to_blendshapes("anger")))[0]
    assert face_geometry(angry.landmarks)["brow_inner"] < face_geometry(neutral.landmarks)["brow_inner"] - 0.02


def _inner_gaps(portrait, moves: np.ndarray) -> np.ndarray:
    """The (11,) inner-lip gaps along the face's down axis, in IOD, after ``moves``."""
    points = portrait.face.landmarks[:, :2] + moves
    frame = portrait.rig.frame
    return (points[list(LIPS_LOWER_INNER)] - points[list(LIPS_UPPER_INNER)]) @ frame.ey / frame.iod


@pytest.mark.parametrize("emotion", ["neutral", "anger", "sadness"])
def test_closing_the_stills_smile_shuts_the_lips_without_crossing_them(portrait, emotion):
    from emogen.talking.photo import lip_seal

    target = emotion_to_blendshapes(emotion)
    moves = portrait.rig.displacement(target - portrait.still_blendshapes)
    seal = lip_seal(portrait.still_blendshapes, target)
    assert seal > 0.9  # the astronaut shows her teeth; these targets part no lips
    closed = _inner_gaps(portrait, moves + portrait.rig.close_lips(moves, seal))
    assert closed.min() > -1e-9  # never through each other (the jaw's own move already closes part)
    assert closed.max() < 0.1 * max(_inner_gaps(portrait, np.zeros_like(moves)).max(), 1e-9) + 1e-3


def test_close_lips_uncrosses_lips_that_other_moves_drove_through_each_other(portrait):
    rig = portrait.rig
    moves = np.zeros((len(portrait.face.landmarks), 2))
    moves[list(LIPS_LOWER_INNER)[1:-1]] -= 0.3 * rig.frame.iod * rig.frame.ey  # lower lip up, through
    assert _inner_gaps(portrait, moves).min() < -0.1
    fixed = _inner_gaps(portrait, moves + rig.close_lips(moves, 0.0))
    assert np.abs(fixed[1:-1]).max() < 1e-9  # met, not crossed, not reopened


def test_a_shut_render_of_a_smiling_still_reads_shut(portrait, landmarker):
    found = landmarker.detect(portrait.render(emotion_to_blendshapes("anger")))[0]
    iod = FaceFrame.from_landmarks(found.landmarks).iod
    gap = found.landmarks[LIPS_LOWER_INNER[5], 1] - found.landmarks[LIPS_UPPER_INNER[5], 1]
    assert abs(gap) / iod < 0.03


def test_a_black_and_white_photo_gets_a_grey_mouth(landmarker, portrait):
    grey_still = np.repeat(cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    grey = PhotoPortrait(grey_still, size=256, landmarker=landmarker)
    opened = grey.render(with_value(grey.still_blendshapes, jawOpen=0.8))
    assert np.abs(opened.astype(int) - opened[..., :1]).max() <= 1  # still grey: no red cavity or tongue
    # A colour photo keeps its coloured mouth; in the grey one the mouth has the same brightness.
    coloured = portrait.render(with_value(portrait.still_blendshapes, jawOpen=0.8))
    mouth = portrait.landmarker.detect(coloured)[0].landmarks[[13, 14], :2].mean(axis=0).round().astype(int)
    patch = coloured[mouth[1] - 2:mouth[1] + 3, mouth[0] - 2:mouth[0] + 3].astype(int)
    assert (patch.max(axis=2) - patch.min(axis=2)).mean() > 15


# --- gaze ------------------------------------------------------------------------------------------------

def eye_openings(landmarks: np.ndarray, size: int, grow: int = 2) -> np.ndarray:
    """(size, size) bool: inside either eye's lid contour, dilated by ``grow`` pixels."""
    from emogen.talking.photo_gaze import EYE_CONTOURS

    mask = np.zeros((size, size), np.uint8)
    for upper, lower in EYE_CONTOURS.values():
        contour = np.concatenate([landmarks[list(upper), :2], landmarks[list(lower[::-1]), :2]])
        cv2.fillPoly(mask, [np.round(contour).astype(np.int32)], 1)
    return cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def test_gaze_moves_the_irises_the_way_the_landmarker_reads_them(portrait):
    from emogen.talking.photo_gaze import look, with_look

    readings, iris_offsets = [], []
    commands = (-0.5, 0.0, 0.5)  # towards the subject's right, ahead, towards her left (+-15 degrees)
    for horizontal in commands:
        frame = portrait.render(with_look(portrait.still_blendshapes, horizontal, 0.0))
        found = portrait.landmarker.detect(frame)[0]
        readings.append(look(check_blendshapes(found.blendshapes))[0])
        frame_axes = FaceFrame.from_landmarks(found.landmarks)
        corners = frame_axes.coordinates(found.landmarks[[33, 133, 362, 263]])
        irises = frame_axes.coordinates(found.landmarks[[468, 473]])
        iris_offsets.append(float(np.mean([irises[0, 0] - corners[:2, 0].mean(), irises[1, 0] - corners[2:, 0].mean()])))
    # MediaPipe's own gaze estimate and the iris position within the eye both follow the command.
    assert readings[0] < readings[1] - 0.1 and readings[2] > readings[1] + 0.1, readings
    assert iris_offsets[0] < iris_offsets[1] < iris_offsets[2], iris_offsets
    assert iris_offsets[2] - iris_offsets[0] > 0.03  # IOD; the model asks for 2 R sin(15 deg) = 0.098


def test_gaze_changes_only_the_eye_openings(portrait):
    from emogen.talking.photo_gaze import with_look

    ahead = portrait.render(portrait.still_blendshapes)
    aside = portrait.render(with_look(portrait.still_blendshapes, 0.6, -0.4))
    changed = np.abs(aside.astype(int) - ahead.astype(int)).max(axis=2) > 0
    assert changed.sum() > 50
    assert not changed[~eye_openings(portrait.face.landmarks, portrait.size)].any()
    # A shut eye has no opening to move an iris in: a blink looks the same with or without gaze.
    blink = with_value(portrait.still_blendshapes, eyeBlinkLeft=1.0, eyeBlinkRight=1.0)
    shut = portrait.render(blink)
    shut_aside = portrait.render(with_look(blink, 0.6, -0.4))
    assert np.array_equal(shut_aside, shut)


def test_the_mesh_reports_where_a_warp_folds_the_picture_over(portrait):
    mesh = portrait.mesh
    assert len(mesh.folded(mesh.source)) == 0
    moved = mesh.source.copy()
    moved[10] = moved[152]  # the top of the forehead dragged down to the chin: a fold across the face
    folded = mesh.folded(moved)
    assert len(folded) > 0 and (folded == 10).any(axis=1).all()
    # The lip gap closing (or crossing) is by design, not a fold of the picture.
    crossed = mesh.source.copy()
    crossed[list(LIPS_UPPER_INNER), 1], crossed[list(LIPS_LOWER_INNER), 1] = (
        mesh.source[list(LIPS_LOWER_INNER), 1] + 0.5, mesh.source[list(LIPS_UPPER_INNER), 1] - 0.5)
    gaps = {tuple(t) for t in mesh.triangles[mesh.gap_triangles]}
    assert not gaps & {tuple(t) for t in mesh.folded(crossed)}


def test_raising_the_brows_of_a_frowning_still_does_not_fold_the_forehead(portrait):
    """The still's frown is taken away and then the brows rise (surprise): one long travel, which must
    fade out over the hair instead of pushing the brows through the top of the face outline."""
    import copy

    frowning = copy.copy(portrait)
    frowning.still_blendshapes = with_value(portrait.still_blendshapes, browDownLeft=0.8, browDownRight=0.8)
    points, target, _, _ = frowning.targets(emotion_to_blendshapes("surprise"))
    folded = frowning.mesh.folded(target)
    v = frowning.rig.frame.coordinates(frowning.mesh.source[folded].mean(axis=1))[:, 1] if len(folded) else []
    upper = [t for t, height in zip(folded, v) if height < -0.3 or (t >= len(portrait.face.landmarks)).any()]
    assert upper == []  # 11 folded triangles there with the fade ending at the landmarks' own hairline
    brows = points[[105, 334], 1]
    assert (brows < portrait.face.landmarks[[105, 334], 1] - 0.1 * frowning.rig.frame.iod).all()  # and they rise


def test_upper_face_travel_is_limited_and_small_moves_are_kept(portrait):
    """Brow terms add up (a frown taken away, then AU1 + AU2): no landmark above the lids may travel past
    UPPER_TRAVEL_MAX IOD; travels up to the knee and everything below the lids are untouched."""
    from emogen.talking.photo_motion import UPPER_TRAVEL_KNEE, UPPER_TRAVEL_MAX

    rig, iod = portrait.rig, portrait.rig.frame.iod
    delta = with_value(np.zeros(52), browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0,
                       browDownLeft=-1.0, browDownRight=-1.0, jawOpen=1.0)
    moves = rig.displacement(delta)
    travel = np.linalg.norm(moves, axis=1) / iod
    upper = rig.above_lids > 0
    assert travel[upper].max() > UPPER_TRAVEL_MAX  # the unlimited sum overshoots here
    limited = rig.limit_upper_travel(moves)
    after = np.linalg.norm(limited, axis=1) / iod
    assert after[upper].max() <= UPPER_TRAVEL_MAX + 1e-9
    assert np.array_equal(limited[~upper], moves[~upper])  # the jaw drop (> 0.4 IOD) is not the brows'
    kept = upper & (travel <= UPPER_TRAVEL_KNEE)
    assert np.array_equal(limited[kept], moves[kept])
    longer = upper & (travel > UPPER_TRAVEL_KNEE)
    cosine = (limited[longer] * moves[longer]).sum(1) / (np.linalg.norm(limited[longer], axis=1) * travel[longer] * iod)
    assert np.allclose(cosine, 1.0)  # each landmark keeps its direction
    assert (np.diff(after[longer][np.argsort(travel[longer])]) >= -1e-12).all()  # and the order of lengths
    # A neutral still made surprised travels 0.37 IOD on this frontal portrait, just past the knee: barely changed.
    surprise = rig.displacement(emotion_to_blendshapes("surprise") - portrait.still_blendshapes)
    assert np.allclose(rig.limit_upper_travel(surprise), surprise, atol=0.02 * iod)


# --- the photo renderer's own emotion faces (PHOTO_PROTOTYPES) --------------------------------------

def test_photo_prototypes_change_only_surprise_and_anger_and_keep_the_avatars():
    from emogen.face.rig import EMFACS_PROTOTYPES, prototype_matrix
    from emogen.talking.avatar_render import AvatarPortrait
    from emogen.talking.photo import PHOTO_PROTOTYPES

    assert set(PHOTO_PROTOTYPES) == set(EMFACS_PROTOTYPES)
    assert {c for c in EMFACS_PROTOTYPES if PHOTO_PROTOTYPES[c] != EMFACS_PROTOTYPES[c]} == {"surprise", "anger"}
    assert AvatarPortrait.expression_prototypes is None  # the EmoFaces world's faces stay as they were
    assert np.array_equal(emotion_to_blendshapes("joy", PhotoPortrait.expression_prototypes),
                          emotion_to_blendshapes("joy"))
    photo_surprise = emotion_to_blendshapes("surprise", PhotoPortrait.expression_prototypes)
    assert photo_surprise[BLENDSHAPE_INDEX["mouthFunnel"]] > 0.5 > emotion_to_blendshapes("surprise")[BLENDSHAPE_INDEX["mouthFunnel"]]
    with pytest.raises(EmotionError, match="missing: contempt"):
        prototype_matrix({c: code for c, code in EMFACS_PROTOTYPES.items() if c != "contempt"})


def _inner_mouth(found) -> tuple[float, float]:
    """(height, width) of the inner-lip opening MediaPipe finds, in IOD."""
    points, iod = found.landmarks[:, :2], FaceFrame.from_landmarks(found.landmarks).iod
    height = points[LIPS_LOWER_INNER[5], 1] - points[LIPS_UPPER_INNER[5], 1]
    width = np.linalg.norm(points[LIPS_UPPER_INNER[0]] - points[LIPS_UPPER_INNER[-1]])
    return height / iod, width / iod


def test_photo_surprise_rounds_the_mouth_and_photo_anger_opens_it_under_lowered_brows(portrait, landmarker):
    from emogen.score.blendshape import face_geometry

    photo = PhotoPortrait.expression_prototypes
    avatar_surprise = _inner_mouth(landmarker.detect(portrait.render(emotion_to_blendshapes("surprise")))[0])
    photo_surprise = _inner_mouth(landmarker.detect(portrait.render(emotion_to_blendshapes("surprise", photo)))[0])
    # Re-measured on the rendered frames: narrower and at least as tall relative to its width (an O, not a slot).
    assert photo_surprise[1] < 0.9 * avatar_surprise[1]
    assert photo_surprise[0] / photo_surprise[1] > 1.2 * avatar_surprise[0] / avatar_surprise[1]
    neutral = landmarker.detect(portrait.render(np.zeros(52)))[0]
    angry = landmarker.detect(portrait.render(emotion_to_blendshapes("anger", photo)))[0]
    assert face_geometry(angry.landmarks)["brow_inner"] < face_geometry(neutral.landmarks)["brow_inner"] - 0.02
    assert _inner_mouth(angry)[0] > 0.1  # the open-mouthed anger: the lips part


def test_expression_tracks_use_the_renderers_faces():
    from emogen.talking.animate import animate

    mouth = np.zeros((30, 52), dtype=np.float32)  # silence: the emotion's own mouth shows
    photo = animate(mouth, "anger", 25.0, prototypes=PhotoPortrait.expression_prototypes)
    avatar = animate(mouth, "anger", 25.0)
    np.testing.assert_allclose(photo.expression[15], emotion_to_blendshapes("anger", PhotoPortrait.expression_prototypes),
                               atol=1e-6)
    np.testing.assert_allclose(avatar.expression[15], emotion_to_blendshapes("anger"), atol=1e-6)
    assert photo.tracks.blendshapes[15, BLENDSHAPE_INDEX["jawOpen"]] > 0.3 > avatar.tracks.blendshapes[15, BLENDSHAPE_INDEX["jawOpen"]]


def _lfw_thumbnail_portrait(index: int) -> np.ndarray:
    """An LFW thumbnail (25 px, grayscale) upscaled 8x and padded, as bench/bench_talking_photo.py makes them."""
    from skimage.data import lfw_subset

    big = cv2.resize((lfw_subset()[index] * 255).round().astype(np.uint8), (200, 200), interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(big, 100, 100, 100, 100, cv2.BORDER_REPLICATE)


def test_brows_rise_less_where_the_full_raise_would_lose_the_face(landmarker, portrait):
    """A soft face whose full surprise brow raise makes it undetectable (LFW thumbnail 75: the brow
    and eye socket stretch into one dark band) keeps the face findable with a smaller brow gain and
    says so; a sharp photo keeps the full raise."""
    from emogen.talking.photo import BROW_GAINS, BROW_PROBE_EMOTION

    assert portrait.brow_gain == 1.0 and not any("brow" in w for w in portrait.warnings)
    soft = PhotoPortrait(_lfw_thumbnail_portrait(75), size=256, landmarker=landmarker)
    assert soft.brow_gain in BROW_GAINS[1:]
    assert any("the brows move" in w and "even then" not in w for w in soft.warnings)
    probe = emotion_to_blendshapes(BROW_PROBE_EMOTION, soft.expression_prototypes)
    assert landmarker.detect(soft.render(probe))
    # Only the motion above the lids is scaled: the jaw drops as far as on a full-gain render.
    points, *_ = soft.targets(probe)
    full_scale = soft._motion_scale
    soft._motion_scale = np.ones_like(full_scale)
    try:
        full_points, *_ = soft.targets(probe)
    finally:
        soft._motion_scale = full_scale
    brow, chin = 105, 152
    assert np.allclose(points[chin], full_points[chin])
    assert points[brow, 1] > full_points[brow, 1] + 1.0  # less far up (image y grows downwards)
