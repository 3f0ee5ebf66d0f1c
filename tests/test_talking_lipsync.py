"""Measurements on output frames (lip sync, identity) and the avatar renderer they measure."""
import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, emotion_to_blendshapes
from emogen.talking.avatar_render import AvatarPortrait, avatar_pose
from emogen.talking.envelope import rms_envelope
from emogen.talking.lipsync import (accuracy_while_speaking, expression_accuracy, lip_sync, mouth_opening,
                                    mouth_openings, shape_distance)


def test_lip_sync_finds_the_lag_and_its_sign():
    rng = np.random.default_rng(0)
    audio = np.convolve(rng.uniform(0, 1, 200), np.ones(4) / 4, mode="same")
    mouth = np.roll(audio, 2)  # the mouth trails the audio by two frames
    mouth[:2] = audio[0]
    result = lip_sync(mouth, audio)
    assert result.lag_frames == 2 and result.correlation > 0.99 and result.correlation_at_zero < 0.9
    assert lip_sync(np.roll(audio, -3), audio).lag_frames == -3
    assert set(result.by_lag) == set(range(-10, 11))


def test_lip_sync_skips_frames_without_a_face_and_refuses_nonsense():
    audio = np.sin(np.arange(100) / 3.0) + 1
    mouth = audio.copy()
    mouth[::7] = np.nan
    result = lip_sync(mouth, audio)
    assert result.correlation == pytest.approx(1.0) and result.lag_frames == 0
    assert result.frames_measured == 100 - len(range(0, 100, 7))
    with pytest.raises(EmotionError, match="at least 3 frames"):
        lip_sync(np.full(100, np.nan), audio)
    with pytest.raises(EmotionError, match="does not vary"):
        lip_sync(np.ones(100), audio)
    with pytest.raises(EmotionError, match="equal-length"):
        lip_sync(np.ones(10), audio)


def test_rms_envelope_reads_the_audio_under_each_frame():
    rate, fps = 16000, 25
    audio = np.zeros(rate)
    audio[rate // 2:] = 0.5 * np.sign(np.sin(np.arange(rate // 2)))  # silent first half, then loud
    envelope = rms_envelope(audio, rate, fps, 25)
    assert envelope[:12].max() == 0 and envelope[13:] == pytest.approx(0.5, abs=0.01)


@pytest.fixture(scope="module")
def landmarker():
    pytest.importorskip("mediapipe")
    from emogen.face.landmarks import FaceLandmarker

    with FaceLandmarker(max_faces=1) as model:
        yield model


def test_avatar_renders_frames_the_landmarker_reads(landmarker):
    avatar = AvatarPortrait(seed=4, size=256)
    jaw = np.zeros(52)
    openings = []
    for amount in (0.0, 0.3, 0.6):
        jaw[BLENDSHAPE_INDEX["jawOpen"]] = amount
        frame = avatar.render(jaw, (0.0, 0.0, 0.0))
        assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
        openings.append(mouth_openings([frame], landmarker)[0])
    assert openings[0] < 0.05 and openings[0] < openings[1] < openings[2]


def test_a_sealed_bilabial_renders_closed_lips(landmarker):
    """ARKit's mouthClose = jawOpen seals the lips: the avatar must not show the 2 px gap it would draw
    if it read mouthClose as its own jaw-and-lips closer."""
    avatar = AvatarPortrait(seed=1, size=256)
    sealed, parted = np.zeros(52), np.zeros(52)
    sealed[BLENDSHAPE_INDEX["jawOpen"]] = sealed[BLENDSHAPE_INDEX["mouthClose"]] = 0.08
    parted[BLENDSHAPE_INDEX["jawOpen"]] = 0.08
    rest = avatar.render(np.zeros(52))
    np.testing.assert_array_equal(avatar.render(sealed), rest)
    assert np.abs(avatar.render(parted).astype(int) - rest).sum() > 0


def test_pitch_moves_the_face_and_keeps_its_shape(landmarker):
    avatar = AvatarPortrait(seed=2, size=256)
    neutral = np.zeros(52)
    level = landmarker.detect(avatar.render(neutral, (0, 0, 0)))[0]
    nod = landmarker.detect(avatar.render(neutral, (0, 10, 0)))[0]
    assert nod.landmarks[1, 1] - level.landmarks[1, 1] > 5  # the nose tip moves down by ~11 px
    assert shape_distance(level.landmarks, level.landmarks) == pytest.approx(0.0, abs=1e-9)
    assert shape_distance(nod.landmarks, level.landmarks) < 0.03  # a moved head keeps its shape
    joy = landmarker.detect(avatar.render(emotion_to_blendshapes("joy")))[0]
    assert mouth_opening(joy.landmarks) > mouth_opening(level.landmarks)


def test_avatar_refuses_bad_values():
    with pytest.raises(EmotionError, match="avatar size"):
        AvatarPortrait(size=1000)
    with pytest.raises(EmotionError, match="seed"):
        AvatarPortrait(seed=-2)
    with pytest.raises(EmotionError, match="finite"):
        avatar_pose((float("nan"), 0, 0))
    assert avatar_pose((90, 0, -90)).yaw == 30 and avatar_pose((90, 0, -90)).roll == -25


# ----- vocal effort and the second reference ------------------------------------------------------
def test_effort_opens_loud_frames_wider_and_keeps_closures_closed():
    from emogen.talking.effort import EFFORT_CHANNELS, EffortConfig, apply_effort, effort_gain

    rate, fps = 16000, 25
    t = np.arange(rate) / rate
    level = np.where(t < 0.5, 0.05, 0.4)  # a quiet half second, then a loud one
    audio = (level * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    gain = effort_gain(rms_envelope(audio, rate, fps, 25))
    low, high = EffortConfig().gain_range
    assert gain[:12].max() < gain[13:].min() and gain.min() >= low and gain.max() <= high
    mouth = np.zeros((25, 52), np.float32)
    mouth[:, BLENDSHAPE_INDEX["jawOpen"]] = 0.3
    mouth[:, BLENDSHAPE_INDEX["mouthPucker"]] = 0.5
    mouth[20, BLENDSHAPE_INDEX["mouthClose"]] = 0.3  # a sealed /m/ in the loud part
    out = apply_effort(mouth, audio, rate, fps)
    jaw, close = BLENDSHAPE_INDEX["jawOpen"], BLENDSHAPE_INDEX["mouthClose"]
    assert out[20, jaw] > out[5, jaw] * 2  # louder: wider
    assert out[20, close] == pytest.approx(out[20, jaw])  # still sealed: the lips cancel the whole jaw
    assert np.array_equal(out[:, BLENDSHAPE_INDEX["mouthPucker"]], mouth[:, BLENDSHAPE_INDEX["mouthPucker"]])
    untouched = [i for i in range(52) if i not in [BLENDSHAPE_INDEX[n] for n in EFFORT_CHANNELS]]
    assert np.array_equal(out[:, untouched], mouth[:, untouched]) and out.max() <= 1.0
    assert np.array_equal(apply_effort(mouth, np.zeros(rate, np.float32), rate, fps), mouth)  # silence: gain 1
    with pytest.raises(EmotionError, match=r"\(n_frames, 52\)"):
        apply_effort(np.zeros((5, 3)), audio, rate, fps)
    with pytest.raises(EmotionError, match="envelope"):
        effort_gain(np.array([0.1, np.nan]))


def test_lowpass_envelope_follows_syllable_rate_modulation():
    from emogen.talking.envelope import lowpass_envelope

    rate, fps = 16000, 25
    t = np.arange(2 * rate) / rate
    modulation = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)  # 4 syllables a second
    carrier = np.random.default_rng(0).standard_normal(len(t))  # noise: a jagged frame RMS
    envelope = lowpass_envelope(modulation * carrier, rate, fps, 50)
    frame_modulation = modulation[: 50 * rate // fps].reshape(50, -1).mean(1)
    assert envelope.shape == (50,)
    assert np.corrcoef(envelope, frame_modulation)[0, 1] > 0.95
    assert np.corrcoef(envelope, frame_modulation)[0, 1] > np.corrcoef(rms_envelope(
        modulation * carrier, rate, fps, 50), frame_modulation)[0, 1] - 0.02


# ----- the meter's worker process -----------------------------------------------------------------
def _talking_frames(n=12):
    avatar = AvatarPortrait(seed=4, size=128)
    frames = []
    for index in range(n):
        shapes = np.zeros(52)
        shapes[BLENDSHAPE_INDEX["jawOpen"]] = 0.6 * (index % 4) / 3
        frames.append(avatar.render(shapes, (0.0, 0.0, 0.0)))
    return frames, avatar.render(np.zeros(52), (0.0, 0.0, 0.0))


@pytest.mark.slow
def test_worker_meter_measures_like_one_landmarker_and_recovers_from_a_bad_clip(landmarker):
    """Parallel landmarkers in the worker give exactly what one landmarker gives for each frame alone;
    a clip that fails reports its error and the next call gets a working meter."""
    pytest.importorskip("torch")
    from emogen.emotion import EmotionArc
    from emogen.talking.meter import BackgroundMeter

    frames, neutral = _talking_frames()
    envelope = np.array([(i % 4) / 3 for i in range(len(frames))], np.float64)
    meter = BackgroundMeter(is_avatar=True)
    meter.begin(EmotionArc.parse("joy"), 25.0, len(frames))
    for index, frame in enumerate(frames):
        meter.see(index, frame, neutral if index == 0 else None)
    scores, busy = meter.finish(envelope)
    expected = mouth_openings(frames, landmarker)
    assert np.allclose([v for v in scores["mouth_opening"]], np.round(expected, 5), atol=1e-5)
    assert scores["lip_sync"]["correlation"] > 0.9 and scores["identity"]["frames_compared"] == 1
    assert scores["expression"]["frames"] == len(range(0, len(frames), 2)) and busy >= 0 and meter.cpu_s > 0

    broken = BackgroundMeter(is_avatar=True)
    broken.begin(EmotionArc.parse("joy"), 25.0, 2)  # fewer frames than are sent: the worker fails
    for index, frame in enumerate(frames[:4]):
        broken.see(index, frame)
    with pytest.raises(RuntimeError, match="IndexError"):
        broken.finish(envelope[:2])
    again = BackgroundMeter(is_avatar=True)
    again.begin(EmotionArc.parse("joy"), 25.0, 4)
    for index, frame in enumerate(frames[:4]):
        again.see(index, frame)
    assert again.finish(envelope[:4])[0]["lip_sync"]["correlation"] > 0.9


def test_expression_accuracy_splits_speaking_frames_from_pauses():
    from emogen.score.estimate import EmotionEstimate

    def estimate(top):
        probs = {name: (0.9 if name == top else 0.02) for name in ("joy", "surprise", "neutral", "anger", "sadness")}
        return EmotionEstimate(probs, 0.0, 0.0, 0.9, "test")

    tops = ["joy", "joy", "surprise", "surprise", "joy"]
    expression = expression_accuracy([estimate(t) for t in tops], ["surprise"] * 5)
    expression["scored_frames"] = [0, 5, 10, 15, 20]
    activity = np.zeros(25)
    activity[:12] = 1.0  # speaking until frame 11, a pause after it
    split = accuracy_while_speaking(expression, activity)
    assert split["while_speaking"] == {"accuracy": pytest.approx(1 / 3), "frames": 3}
    assert split["in_pauses"] == {"accuracy": pytest.approx(1 / 2), "frames": 2}
    assert accuracy_while_speaking(expression, np.ones(25))["in_pauses"] == {"accuracy": None, "frames": 0}
