"""Motion: emotion at sequence level, the speech/emotion blending rule, blinks, gaze, head, determinism."""
import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, emotion_to_blendshapes
from emogen.speech.engines.base import Timing
from emogen.talking.animate import animate
from emogen.talking.expression import (EMOTION_CHANNELS, EMOTION_POSTURES, FUNNEL_UNDER_SPEECH, SPEECH_CHANNELS,
                                       combine, emotion_posture, expression_track, posture_track, speech_activity)
from emogen.talking.idle import IdleConfig, blink_track, gaze_track, head_track, stress_envelope
from emogen.talking.visemes import lip_opening, mouth_from_phonemes

FPS = 25.0
# "a m a" then two seconds of silence: a bilabial closure inside speech, and a real pause after it.
PHONEMES = (Timing("a", 0.0, 0.3), Timing("m", 0.3, 0.42), Timing("a", 0.42, 0.7))
N = int(2.7 * FPS)


def frames_of(start, end):
    times = (np.arange(N) + 0.5) / FPS
    return np.flatnonzero((times >= start) & (times < end))


@pytest.fixture(scope="module")
def mouth():
    return mouth_from_phonemes(PHONEMES, FPS, N)


def test_channels_split_the_52_once():
    assert set(SPEECH_CHANNELS).isdisjoint(EMOTION_CHANNELS) and len(SPEECH_CHANNELS) + len(EMOTION_CHANNELS) == 52
    assert {"jawOpen", "mouthClose", "mouthFunnel", "mouthPucker"} <= set(SPEECH_CHANNELS)
    assert {"mouthSmileLeft", "mouthFrownRight", "browInnerUp", "eyeWideLeft", "cheekSquintLeft"} <= set(EMOTION_CHANNELS)


def test_a_bilabial_still_closes_the_lips_under_surprise(mouth):
    expression = expression_track("surprise", FPS, N)
    assert expression[:, BLENDSHAPE_INDEX["jawOpen"]].min() > 0.5  # surprise drops the jaw (AU 26) ...
    face = combine(mouth, expression, FPS, arousal=np.full(N, 0.8))
    closure = frames_of(0.3, 0.42)
    assert lip_opening(face)[closure].min() == pytest.approx(0.0, abs=1e-6)  # ... but /m/ seals the lips
    vowel = frames_of(0.1, 0.25)
    assert lip_opening(face)[vowel].mean() > 0.3
    # The upper face is the emotion's throughout, speaking or not.
    for name in ("browInnerUp", "eyeWideLeft", "browOuterUpRight"):
        np.testing.assert_allclose(face[:, BLENDSHAPE_INDEX[name]], expression[:, BLENDSHAPE_INDEX[name]], atol=1e-6)


def test_the_emotions_mouth_returns_in_a_long_pause_only(mouth):
    expression = expression_track("surprise", FPS, N)
    face = combine(mouth, expression, FPS)
    jaw = BLENDSHAPE_INDEX["jawOpen"]
    activity = speech_activity(mouth, FPS)
    assert activity[frames_of(0.0, 0.7)].min() > 0.99 and activity[frames_of(2.0, 2.7)].max() < 0.01
    late = frames_of(2.0, 2.7)
    np.testing.assert_allclose(face[late, jaw], expression[late, jaw], atol=1e-3)


def test_half_the_emotions_lip_funnel_is_held_through_speech_but_not_through_a_seal(mouth):
    from emogen.talking.photo import PHOTO_PROTOTYPE_MATRIX

    expression = expression_track("surprise", FPS, N, prototypes=PHOTO_PROTOTYPE_MATRIX)  # rounds the lips (AU 22)
    face = combine(mouth, expression, FPS)
    funnel = BLENDSHAPE_INDEX["mouthFunnel"]
    speaking = frames_of(0.0, 0.7)
    assert expression[speaking, funnel].min() > 0.3
    # Held at half under the speech's own funnel, fading as the lips seal for /m/ (coarticulated: a ramp).
    jaw, close = mouth[:, BLENDSHAPE_INDEX["jawOpen"]], mouth[:, BLENDSHAPE_INDEX["mouthClose"]]
    seal = np.clip(close / np.maximum(jaw, 1e-6), 0, 1)
    held = FUNNEL_UNDER_SPEECH * (1 - seal[speaking]) * expression[speaking, funnel]
    np.testing.assert_allclose(face[speaking, funnel], np.maximum(mouth[speaking, funnel], held), atol=1e-6)
    assert face[frames_of(0.0, 0.1), funnel].min() > 0.95 * FUNNEL_UNDER_SPEECH * expression[0, funnel]
    closure = frames_of(0.3, 0.42)
    assert lip_opening(face)[closure].min() == pytest.approx(0.0, abs=1e-6)  # /m/ still seals the lips
    assert face[closure, funnel].max() == pytest.approx(mouth[closure, funnel].max(), abs=1e-6)


def test_a_smile_survives_a_rounded_vowel():
    rounded = mouth_from_phonemes((Timing("u", 0.0, 0.6),), FPS, 20)
    expression = expression_track("joy", FPS, 20)
    face = combine(rounded, expression, FPS)
    smile = BLENDSHAPE_INDEX["mouthSmileLeft"]
    np.testing.assert_allclose(face[:, smile], expression[:, smile], atol=1e-6)
    assert face[5:10, BLENDSHAPE_INDEX["mouthPucker"]].mean() > 0.4  # while the lips round for /u/


def test_arousal_scales_articulation_without_opening_closures(mouth):
    zero = np.zeros_like(mouth)
    calm = combine(mouth, zero, FPS, arousal=np.full(N, -1.0))
    excited = combine(mouth, zero, FPS, arousal=np.full(N, 1.0))
    jaw = BLENDSHAPE_INDEX["jawOpen"]
    vowel = frames_of(0.1, 0.25)
    assert excited[vowel, jaw].mean() > calm[vowel, jaw].mean() * 1.3
    assert lip_opening(excited)[frames_of(0.3, 0.42)].max() == pytest.approx(0.0, abs=1e-6)


def test_expression_follows_an_arc_and_is_cut_at_the_clip():
    track = expression_track("joy@0 -> sadness@2", FPS, 75)
    smile, inner = BLENDSHAPE_INDEX["mouthSmileLeft"], BLENDSHAPE_INDEX["browInnerUp"]
    assert track[0, smile] > 0.7 and track[-1, smile] < 0.05 and track[-1, inner] > 0.7
    assert np.abs(np.diff(track, axis=0)).max() < 0.1  # smooth: no jumps between frames
    short = expression_track("joy@0 -> sadness@10", FPS, 25)  # a 1 s clip of a 10 s arc: only its start
    assert short.shape == (25, 52) and short[-1, smile] > 0.6
    np.testing.assert_allclose(expression_track("anger", FPS, 5)[2], emotion_to_blendshapes("anger"), atol=1e-6)


def test_blinks_have_natural_rate_and_duration():
    n = int(300 * FPS)  # five minutes
    closure = blink_track(n, FPS, np.zeros(n), seed=3)
    closed = closure > 0.5
    onsets = np.flatnonzero(closed[1:] & ~closed[:-1])
    per_minute = len(onsets) / 5
    assert 18 <= per_minute <= 34, per_minute  # ~26/min in conversation (Bentivoglio et al. 1997)
    lengths = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], closure > 0.01, [0]]).astype(int))))[::2] / FPS
    assert 0.08 <= np.median(lengths) <= 0.4
    assert closure.max() == pytest.approx(1.0)  # a blink fully closes the eye on its peak frame
    aroused = blink_track(n, FPS, np.ones(n), seed=3)
    calm = blink_track(n, FPS, -np.ones(n), seed=3)
    count = lambda c: int(((c[1:] > 0.5) & (c[:-1] <= 0.5)).sum())  # noqa: E731
    assert count(aroused) > count(closure) > count(calm)


def test_gaze_fixates_with_quick_saccades():
    n = int(120 * FPS)
    gaze = gaze_track(n, FPS, seed=1)
    assert np.abs(gaze).max() <= IdleConfig().max_saccade_deg
    speed = np.linalg.norm(np.diff(gaze, axis=0), axis=1)
    assert (speed < 1e-6).mean() > 0.8  # mostly still (fixations) ...
    saccades = int(((speed[1:] > 0.5) & (speed[:-1] <= 0.5)).sum())
    assert 30 <= saccades <= 120  # ... with a shift every 1-4 s


def test_head_sways_and_nods_on_stresses():
    n = int(60 * FPS)
    rng = np.random.default_rng(0)
    envelope = np.clip(np.sin(np.arange(n) / FPS * 2 * np.pi * 2.0), 0, None) * rng.uniform(0.3, 1.0, n)
    head = head_track(n, FPS, envelope, np.zeros(n), seed=2)
    still = head_track(n, FPS, np.zeros(n), np.zeros(n), seed=2)
    assert 1.0 < head[:, 0].std() < 5.0 and np.abs(head).max() < 20
    nods = head[:, 1] - still[:, 1]
    assert np.corrcoef(nods, stress_envelope(envelope, FPS))[0, 1] > 0.99
    excited = head_track(n, FPS, np.zeros(n), np.ones(n), seed=2)
    assert excited[:, 0].std() > 1.3 * still[:, 0].std()


def test_a_sad_head_bows_and_the_bow_follows_the_arc(mouth):
    bow = EMOTION_POSTURES["sadness"][1]
    np.testing.assert_allclose(emotion_posture("sadness"), (0.0, bow, 0.0))
    np.testing.assert_allclose(emotion_posture("sadness:0.5"), (0.0, bow / 2, 0.0))  # as the face scales
    for upright in ("neutral", "joy", "surprise", "anger"):
        np.testing.assert_allclose(emotion_posture(upright), 0.0)
    track = posture_track("joy@0 -> sadness@1.5", FPS, N)
    assert track.shape == (N, 3) and abs(track[0, 1]) < 0.5 and track[-1, 1] == pytest.approx(bow, abs=0.5)
    assert np.all(np.diff(track[:, 1]) >= -1e-9)  # bows steadily, no jump
    envelope = lip_opening(mouth)
    sad = animate(mouth, "sadness", FPS, envelope, seed=3).tracks.head_pose
    calm = animate(mouth, "neutral", FPS, envelope, seed=3).tracks.head_pose
    # The same sway and nods (same seed), about a bowed head: sadness' arousal is lower, so the sway is
    # a little smaller, but the mean pitch moves by the bow.
    assert sad[:, 1].mean() - calm[:, 1].mean() == pytest.approx(bow, abs=1.5)
    assert np.abs(sad[:, 1]).max() <= IdleConfig().head_limits_deg[1]


def test_animation_is_deterministic_by_seed(mouth):
    envelope = lip_opening(mouth)
    first = animate(mouth, "joy@0 -> anger@2", FPS, envelope, seed=5).tracks
    again = animate(mouth, "joy@0 -> anger@2", FPS, envelope, seed=5).tracks
    other = animate(mouth, "joy@0 -> anger@2", FPS, envelope, seed=6).tracks
    np.testing.assert_array_equal(first.blendshapes, again.blendshapes)
    np.testing.assert_array_equal(first.head_pose, again.head_pose)
    assert not np.allclose(first.head_pose, other.head_pose)
    assert first.blendshapes.min() >= 0 and first.blendshapes.max() <= 1 and first.n_frames == N
    with pytest.raises(EmotionError, match="seed"):
        animate(mouth, "joy", FPS, envelope, seed=-1)
    with pytest.raises(EmotionError, match="unknown emotion category"):
        animate(mouth, "glee", FPS, envelope)
