"""Speaking stills (opt-in EmoFaces augmentation) and the speaking-face rule they share with the talking head."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from emogen.data.emofaces import EmoFacesStills, SpeakingAugmentation, random_speech_mouth, still_spec
from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, emotion_to_blendshapes
from emogen.speech.engines.base import Timing
from emogen.talking.expression import (FROWN_UNDER_SPEECH, HELD_LIP_CHANNELS, combine, expression_track, speaking_face,
                                      speech_activity)
from emogen.talking.visemes import MOUTH_BLENDSHAPES, lip_opening, mouth_from_phonemes

ROOT = Path(__file__).resolve().parents[1]
FPS = 25.0
JAW, CLOSE = BLENDSHAPE_INDEX["jawOpen"], BLENDSHAPE_INDEX["mouthClose"]
UPPER = BLENDSHAPE_INDEX["mouthUpperUpLeft"]
BLINK = BLENDSHAPE_INDEX["eyeBlinkLeft"]
FROWN = BLENDSHAPE_INDEX["mouthFrownLeft"]


def test_default_stills_are_unchanged_by_the_option():
    plain = EmoFacesStills(n=6, kinds={"category": 1.0})
    off = EmoFacesStills(n=6, kinds={"category": 1.0}, speaking=SpeakingAugmentation())
    for a, b in zip(plain, off):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert plain.speaking is None and still_spec(0).speech_mouth is None
    np.testing.assert_array_equal(still_spec(3).blendshapes, emotion_to_blendshapes(still_spec(3).emotion))


def test_speaking_stills_keep_the_still_and_its_labels():
    augmentation = SpeakingAugmentation(speech_prob=0.6, blink_prob=0.3)
    plain = EmoFacesStills(n=300)
    speaking = EmoFacesStills(n=300, speaking=augmentation)
    specs = [(plain.spec(i), speaking.spec(i)) for i in range(300)]
    for a, b in specs:  # the same identity, emotion and pose under the mouth: labels stay the still's
        assert (a.identity_seed, a.emotion, a.pose, a.kind) == (b.identity_seed, b.emotion, b.pose, b.kind)
    speaks = np.array([b.speech_mouth is not None for _, b in specs])
    blinks = np.array([b.blink > 0 for _, b in specs])
    assert 0.5 < speaks.mean() < 0.7 and 0.2 < blinks.mean() < 0.4
    closures = np.array([b.blink for _, b in specs if b.blink > 0])
    assert closures.min() >= 0.1 and closures.max() <= 1.0 and (closures >= 0.8).mean() > 0.3
    # A speaking still's mouth opens at least sometimes (vowels), and only where the speech rig moves it.
    openings = np.array([b.blendshapes[JAW] for _, b in specs if b.speech_mouth is not None])
    assert (openings > 0.2).mean() > 0.2
    for a, b in specs[:40]:
        if b.blink > 0:
            assert b.blendshapes[BLINK] >= b.blink - 1e-9
        if b.speech_mouth is not None:
            assert b.blendshapes[CLOSE] == 0.0  # handed to the avatar as a lip gap, as the talking avatar does
            for name in ("browInnerUp", "browDownLeft", "eyeWideRight", "noseSneerLeft", "mouthSmileRight"):
                assert b.blendshapes[BLENDSHAPE_INDEX[name]] >= a.blendshapes[BLENDSHAPE_INDEX[name]] - 1e-6
    # Items carry the still's labels and a drawn speaking face.
    item_plain, item_speaking = next(iter(plain)), next(iter(speaking))
    for key in ("category", "probs", "valence", "arousal", "identity"):
        assert torch.equal(item_plain[key], item_speaking[key])
    again = next(iter(EmoFacesStills(n=1, speaking=augmentation)))
    assert torch.equal(again["pixel_values"], item_speaking["pixel_values"])  # deterministic


def test_only_the_chosen_kinds_speak():
    speaking = EmoFacesStills(n=200, speaking=SpeakingAugmentation(speech_prob=1.0, blink_prob=1.0,
                                                                   kinds=("category", "mixture")))
    specs = [speaking.spec(i) for i in range(200)]
    assert {s.kind for s in specs} == {"category", "mixture", "va"}
    for spec in specs:  # VA-plane points stay plain: their arousal shows on the jaw and lids
        assert (spec.speech_mouth is None and spec.blink == 0) == (spec.kind == "va")


def test_random_speech_mouth_stays_in_the_viseme_channels():
    rng = np.random.default_rng(0)
    mouths = np.stack([random_speech_mouth(rng) for _ in range(200)])
    others = [i for name, i in BLENDSHAPE_INDEX.items() if name not in MOUTH_BLENDSHAPES]
    assert mouths.min() >= 0 and mouths.max() <= 1 and np.all(mouths[:, others] == 0)
    # /p b m/ leading the mix seal the lips (mouthClose = jawOpen); as a neighbour they close them part-way.
    assert np.all(mouths[:, CLOSE] <= mouths[:, JAW] + 1e-12)
    sealed = (mouths[:, CLOSE] > 0) & np.isclose(mouths[:, CLOSE], mouths[:, JAW])
    assert sealed.sum() >= 5 and np.all(mouths[sealed][:, [BLENDSHAPE_INDEX["mouthUpperUpLeft"],
                                                           BLENDSHAPE_INDEX["mouthLowerDownRight"]]] == 0)
    assert mouths[:, JAW].max() > 0.6 and (mouths[:, JAW] < 0.05).any()  # wide vowels and near-closed lips occur


@pytest.mark.parametrize("kwargs, message", [
    ({"speech_prob": 1.5}, "speech_prob"), ({"blink_prob": -0.1}, "blink_prob"), ({"speech_prob": True}, "speech_prob"),
    ({"opening_range": (1.0, 0.5)}, "opening_range"), ({"shape_range": (0.0, float("nan"))}, "shape_range"),
    ({"kinds": ("category", "photo")}, "speaking kinds"), ({"kinds": ()}, "speaking kinds"),
])
def test_bad_augmentation_settings_are_named(kwargs, message):
    with pytest.raises(EmotionError, match=message):
        SpeakingAugmentation(**kwargs)


def test_speaking_stills_open_over_the_talking_heads_loudness_range():
    from emogen.talking.visemes import LOUDNESS_RANGE

    assert SpeakingAugmentation().opening_range == LOUDNESS_RANGE


def test_speaking_must_be_an_augmentation():
    with pytest.raises(EmotionError, match="SpeakingAugmentation"):
        EmoFacesStills(n=1, speaking=0.5)


def test_disgust_keeps_its_upper_lip_while_speaking_but_bilabials_still_seal():
    phonemes = (Timing("a", 0.0, 0.3), Timing("m", 0.3, 0.42), Timing("a", 0.42, 0.7))
    n = int(1.0 * FPS)
    mouth = mouth_from_phonemes(phonemes, FPS, n)
    expression = expression_track("disgust", FPS, n)
    face = combine(mouth, expression, FPS)
    times = (np.arange(n) + 0.5) / FPS
    vowel, closure = np.flatnonzero((times > 0.1) & (times < 0.25)), np.flatnonzero((times >= 0.3) & (times < 0.42))
    # The upper-lip raiser (AU 10) stays through the vowel (fading a little as the coming /m/ starts to seal the
    # lips), where the speech rule alone would drop it to the viseme's value.
    assert face[vowel, UPPER].min() >= 0.9 * expression[vowel, UPPER].min() > mouth[vowel, UPPER].max()
    assert lip_opening(face)[closure].max() == pytest.approx(0.0, abs=1e-6)  # /m/ still closes the lips
    # Channels other than the held lip ones follow the rule as before: the jaw is the speech's.
    np.testing.assert_allclose(face[vowel, JAW], mouth[vowel, JAW], atol=1e-6)


def test_a_strong_frown_is_held_down_while_speaking_and_returns_in_pauses():
    sad = emotion_to_blendshapes("sadness")
    assert sad[FROWN] > FROWN_UNDER_SPEECH  # the case the cap is for
    mouth = np.zeros(52)
    assert speaking_face(mouth, sad, 1.0)[FROWN] == pytest.approx(FROWN_UNDER_SPEECH)
    assert speaking_face(mouth, sad, 0.0)[FROWN] == pytest.approx(sad[FROWN])
    assert speaking_face(mouth, sad, 0.5)[FROWN] == pytest.approx(0.5 * (sad[FROWN] + FROWN_UNDER_SPEECH))
    weak = emotion_to_blendshapes("anger")  # a frown under the cap is left as it is
    assert speaking_face(mouth, weak, 1.0)[FROWN] == pytest.approx(weak[FROWN])
    brows = BLENDSHAPE_INDEX["browInnerUp"]  # the rest of the emotion stays whole
    assert speaking_face(mouth, sad, 1.0)[brows] == pytest.approx(sad[brows])


def test_landmarker_sees_a_speaking_sad_avatar_shut_and_opening_with_the_jaw():
    """The reason for the cap, on real renders: with the full frown MediaPipe read the shut mouth as parted."""
    from emogen.face.landmarks import FaceLandmarker
    from emogen.talking.avatar_render import AvatarPortrait
    from emogen.talking.lipsync import mouth_opening

    avatar, sad = AvatarPortrait(33, 256), emotion_to_blendshapes("sadness")
    with FaceLandmarker(max_faces=1) as landmarker:
        gaps = []
        for jaw in (0.0, 0.35, 0.7):
            mouth = np.zeros(52)
            mouth[JAW] = jaw
            faces = landmarker.detect(avatar.render(speaking_face(mouth, sad, 1.0)))
            gaps.append(mouth_opening(faces[0].landmarks))
    assert gaps[0] < 0.06 < gaps[1] < gaps[2]


def test_speaking_face_is_the_frame_by_frame_rule_of_combine():
    mouth = mouth_from_phonemes((Timing("e", 0.0, 0.4), Timing("p", 0.4, 0.5)), FPS, 40)
    expression = expression_track("fear", FPS, 40)
    arousal = np.full(40, 0.6)
    expected = combine(mouth, expression, FPS, arousal)
    np.testing.assert_allclose(speaking_face(mouth, expression, speech_activity(mouth, FPS), arousal), expected,
                               atol=1e-6)
    frame = speaking_face(mouth[5], emotion_to_blendshapes("disgust"), 1.0, 0.2)
    assert frame.shape == (52,) and frame.dtype == np.float32
    assert set(HELD_LIP_CHANNELS) <= set(MOUTH_BLENDSHAPES)


@pytest.mark.slow
def test_trainer_trains_and_evaluates_on_speaking_stills(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "train" / "train_scorer.py"), "--output_dir", str(out),
               "--train_batch_size", "8", "--block_channels", "[4, 8, 8, 8]", "--hidden_size", "8",
               "--dataloader_num_workers", "0", "--lr_warmup_steps", "1", "--max_train_steps", "2",
               "--eval_samples", "16", "--eval_va_samples", "8", "--checkpointing_steps", "2",
               "--speech_prob", "0.5", "--blink_prob", "0.25"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["speech_prob"] == 0.5 and metrics["speaking"]["samples"] == 16
    assert 0.0 <= metrics["speaking"]["top1_accuracy"] <= 1.0
    card = (out / "README.md").read_text()
    assert "Speaking stills" in card and f"{metrics['speaking']['top1_accuracy']:.4f}" in card
    bad = subprocess.run([*command[:2], "--output_dir", str(tmp_path / "bad"), "--speech_prob", "2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120,
                         env={"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert bad.returncode != 0 and "speech_prob must be a probability" in bad.stderr
