"""Phoneme timings -> mouth blendshapes: real engine timings, coarticulation, bilabial closure, fallbacks."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES
from emogen.speech.engines import Timing, get_engine
from emogen.talking.visemes import (
    FALLBACK_VISEME, MOUTH_BLENDSHAPES, detect_alphabet, is_known_label, lip_opening, mouth_from_phonemes, phoneme_visemes,
)

JAW = BLENDSHAPE_INDEX["jawOpen"]
PUCKER = BLENDSHAPE_INDEX["mouthPucker"]
STRETCH = BLENDSHAPE_INDEX["mouthStretchLeft"]
NON_MOUTH = [i for i, name in enumerate(BLENDSHAPE_NAMES) if name not in MOUTH_BLENDSHAPES]


@pytest.fixture(scope="module")
def espeak_utterance():
    return get_engine("espeak", "en-us").synthesize("Mama bought a map, but Bob was happy to pop by.")


def _frames_of(timing: Timing, fps: float, n_frames: int) -> np.ndarray:
    """The frames whose instants fall inside the phoneme; for a phoneme shorter than that, the nearest one."""
    times = (np.arange(n_frames) + 0.5) / fps
    inside = np.flatnonzero((times >= timing.start) & (times < timing.end))
    return inside if len(inside) else np.array([int((timing.start + timing.end) / 2 * fps)])


def test_shape_range_and_only_mouth_channels(espeak_utterance):
    n_frames = int(np.ceil(espeak_utterance.duration * 25))
    track = mouth_from_phonemes(espeak_utterance.phonemes, 25, n_frames)
    assert track.shape == (n_frames, 52) and track.dtype == np.float32
    assert track.min() >= 0.0 and track.max() <= 1.0
    assert not track[:, NON_MOUTH].any()
    assert track[:, JAW].max() > 0.3  # the vowels open the jaw


def test_bilabials_close_the_lips_on_real_espeak_timings(espeak_utterance):
    fps = 25
    n_frames = int(np.ceil(espeak_utterance.duration * fps))
    track = mouth_from_phonemes(espeak_utterance.phonemes, fps, n_frames)
    opening = lip_opening(track)
    bilabials = [p for p in espeak_utterance.phonemes if p.label in ("p", "b", "m")]
    assert len(bilabials) >= 8
    for phoneme in bilabials:
        frames = _frames_of(phoneme, fps, n_frames)
        assert len(frames) >= 1, phoneme
        assert opening[frames].max() < 1e-6, phoneme  # sealed on every frame of the /p b m/
    vowels = [p for p in espeak_utterance.phonemes if p.label in ("æ", "ɑː", "ɔː", "a", "ɐ")]
    assert max(opening[_frames_of(v, fps, n_frames)].max() for v in vowels) > 0.3


def test_silence_relaxes_to_closed_and_empty_is_all_zero():
    phonemes = [Timing("a", 0.6, 0.8)]
    track = mouth_from_phonemes(phonemes, 50, 100)  # 2 s, speech only at 0.6-0.8 s
    assert track[75:].max() < 0.01  # 0.7 s after the vowel
    assert track[:15].max() < 0.03  # more than 0.3 s before it
    assert not mouth_from_phonemes([], 25, 10).any()
    assert mouth_from_phonemes([], 25, 0).shape == (0, 52)


def test_anticipation_is_longer_than_carry_over_and_motion_is_smooth():
    fps = 100
    track = mouth_from_phonemes([Timing("a", 0.5, 0.7)], fps, 120)
    jaw = track[:, JAW]
    before = jaw[int((0.5 - 0.06) * fps)]  # 60 ms before the sound starts
    after = jaw[int((0.7 + 0.06) * fps)]  # 60 ms after it ends
    assert before > 0.1  # the jaw is already opening before the sound
    assert before > 1.5 * after
    assert np.abs(np.diff(jaw)).max() < 0.08  # no jumps at 100 fps
    assert jaw[int(0.6 * fps)] == pytest.approx(jaw.max(), abs=0.02)  # apex on the sound, not before it


def test_rounded_and_spread_vowels_differ():
    u = mouth_from_phonemes([Timing("uː", 0.0, 0.3)], 25, 8)[4]
    i = mouth_from_phonemes([Timing("iː", 0.0, 0.3)], 25, 8)[4]
    assert u[PUCKER] > i[PUCKER] + 0.3
    assert i[STRETCH] > u[STRETCH] + 0.2


def test_diphthong_is_split_in_time():
    parts = phoneme_visemes("aɪ")
    assert [p[0] for p in parts] == ["aa", "ih"] and sum(p[2] for p in parts) == pytest.approx(1.0)
    assert [p[0] for p in phoneme_visemes("ay", "arpabet")] == ["aa", "ih"]
    assert phoneme_visemes("dʒ") == [("CH", 1.0, 1.0)]  # an affricate is one shape
    assert phoneme_visemes("ɔ̃")[0][0] == "oh"  # nasal tilde dropped
    assert phoneme_visemes("ah0", "arpabet")[0][0] == "aa"  # CMUdict stress digit dropped


def test_unknown_labels_fall_back_without_failing():
    for label in ("☃", "#?!", "QQQ", "ʘ"):
        assert phoneme_visemes(label) == [(FALLBACK_VISEME, 1.0, 1.0)] and not is_known_label(label)
    assert phoneme_visemes("xyz", "arpabet") == [(FALLBACK_VISEME, 1.0, 1.0)]
    assert phoneme_visemes("pau", "arpabet") == [("sil", 1.0, 1.0)]
    assert phoneme_visemes("(en)") == []
    track = mouth_from_phonemes([Timing("☃", 0.0, 0.2), Timing("ʘ", 0.2, 0.4)], 25, 10)
    assert track[:, JAW].max() > 0.05 and track.max() <= 1.0


ESPEAK_TEXTS = {
    "en-us": "The quick brown fox jumps over the lazy dog; she thinks about pleasure and judgement.",
    "de": "Guten Morgen, wie geht es Ihnen? Schön, über Bücher zu sprechen. Pfeffer und Zucker.",
    "fr": "Bonjour, comment allez-vous? Un peu de pain, une bûche, le cœur heureux.",
    "es": "Hola, ¿cómo estás? Muy bien, gracias. El perro come churros.",
    "pl": "Dzień dobry, jak się masz? Szczęście.",
    "ru": "Здравствуйте, как дела? Щука и жук.",
    "cmn": "你好，我很高兴见到你。",
}


@pytest.mark.slow
def test_every_label_the_installed_engines_produce_is_mapped():
    engines = [("espeak", voice, text) for voice, text in ESPEAK_TEXTS.items()]
    if shutil.which("flite"):
        engines.append(("flite", "slt", ESPEAK_TEXTS["en-us"]))
    for name, voice, text in engines:
        utterance = get_engine(name, voice).synthesize(text)
        labels = [p.label for p in utterance.phonemes]
        alphabet = detect_alphabet(labels)
        assert alphabet == ("arpabet" if name == "flite" else "ipa"), (name, voice)
        unknown = [label for label in labels if not is_known_label(label, alphabet)]
        assert not unknown, (name, voice, unknown)
        track = mouth_from_phonemes(utterance.phonemes, 30, int(utterance.duration * 30) + 1)
        assert track[:, JAW].max() > 0.2, (name, voice)


@pytest.mark.skipif(not shutil.which("flite"), reason="flite not installed")
def test_flite_arpabet_timings_close_bilabials():
    utterance = get_engine("flite", "slt").synthesize("Bob may pop by.")
    n_frames = int(utterance.duration * 25) + 1
    opening = lip_opening(mouth_from_phonemes(utterance.phonemes, 25, n_frames))
    for phoneme in (p for p in utterance.phonemes if p.label in ("p", "b", "m")):
        assert opening[_frames_of(phoneme, 25, n_frames)].max() < 1e-6


@pytest.mark.parametrize("fps, n_frames", [(0, 10), (500, 10), ("fast", 10), (25, -1), (25, 2.5), (25, True)])
def test_bad_fps_or_frame_count_is_rejected(fps, n_frames):
    with pytest.raises(EmotionError):
        mouth_from_phonemes([Timing("a", 0, 0.1)], fps, n_frames)


def test_bad_timings_and_alphabet_are_rejected():
    with pytest.raises(EmotionError, match="start <= end"):
        mouth_from_phonemes([Timing("a", 0.5, 0.1)], 25, 10)
    with pytest.raises(EmotionError, match="Timing"):
        mouth_from_phonemes([("a", 0.0, 0.1)], 25, 10)
    with pytest.raises(EmotionError, match="alphabet"):
        mouth_from_phonemes([Timing("a", 0, 0.1)], 25, 10, alphabet="sampa")


def test_louder_vowels_open_wider_but_keep_their_lip_shape():
    rate = 16000
    t = np.arange(int(1.0 * rate)) / rate
    audio = np.sin(2 * np.pi * 200 * t) * np.where(t < 0.5, 0.1, 0.8)  # a quiet vowel, then a loud one
    phonemes = [Timing("uː", 0.1, 0.4), Timing("uː", 0.62, 0.92)]  # frames 6 and 19 sit alike in them
    plain = mouth_from_phonemes(phonemes, 25, 25)
    loud = mouth_from_phonemes(phonemes, 25, 25, audio=audio.astype(np.float32), sample_rate=rate)
    quiet_frame, loud_frame = 6, 19
    assert plain[quiet_frame, JAW] == pytest.approx(plain[loud_frame, JAW], abs=0.005)  # without audio: alike
    assert loud[loud_frame, JAW] > 3 * loud[quiet_frame, JAW]
    assert loud[quiet_frame, PUCKER] == pytest.approx(plain[quiet_frame, PUCKER], abs=1e-6)  # rounding stays
    with pytest.raises(EmotionError, match="sample_rate"):
        mouth_from_phonemes(phonemes, 25, 25, audio=audio, sample_rate=None)
    with pytest.raises(EmotionError, match="mono"):
        mouth_from_phonemes(phonemes, 25, 25, audio=np.zeros((2, 2, 2)), sample_rate=rate)


def test_loudness_brings_the_mouth_closer_to_the_audio_envelope(espeak_utterance):
    fps, u = 25, espeak_utterance
    n = int(u.duration * fps)
    edges = np.round(np.arange(n + 1) / fps * u.sample_rate).astype(int)
    envelope = np.array([np.sqrt(np.mean(u.audio[a:b] ** 2)) for a, b in zip(edges[:-1], edges[1:])])
    plain = lip_opening(mouth_from_phonemes(u.phonemes, fps, n))
    loud = lip_opening(mouth_from_phonemes(u.phonemes, fps, n, audio=u.audio, sample_rate=u.sample_rate))
    assert np.corrcoef(loud, envelope)[0, 1] > np.corrcoef(plain, envelope)[0, 1] + 0.03


def _quiet_share(audio: np.ndarray, rate: int, timing: Timing) -> float:
    """Share of a phoneme's span where the speech is silent (5 ms RMS under 5% of the loudest): a stop's closure."""
    window = int(0.005 * rate)
    rms = np.sqrt(np.convolve(np.asarray(audio, np.float64) ** 2, np.ones(window) / window, mode="same"))
    span = rms[int(timing.start * rate): max(int(timing.end * rate), int(timing.start * rate) + 1)]
    return float(np.mean(span < 0.05 * rms.max()))


def test_espeak_stops_are_moved_onto_their_acoustic_closure():
    from emogen.talking.speech_input import align_stops

    utterance = get_engine("espeak", "en-us").synthesize("Papa put a pack of paper by the pot.")
    raw = utterance.phonemes
    aligned = align_stops(raw, "espeak")
    assert align_stops(raw, "flite") == tuple(raw)  # other engines' labels already cover the closure
    assert len(aligned) == len(raw) and [t.label for t in aligned] == [t.label for t in raw]
    assert all(a.end <= b.start + 1e-9 for a, b in zip(aligned, aligned[1:]))  # still in order, no overlap
    stops = [i for i, t in enumerate(raw) if t.label in ("p", "t", "k")]
    assert len(stops) >= 8
    for i in stops:
        assert aligned[i].end - aligned[i].start == pytest.approx(raw[i].end - raw[i].start, abs=1e-9)
    # The lips are sealed on a /p/'s frames: after the move those frames are the silent closure.
    before = np.mean([_quiet_share(utterance.audio, utterance.sample_rate, raw[i]) for i in stops])
    after = np.mean([_quiet_share(utterance.audio, utterance.sample_rate, aligned[i]) for i in stops])
    assert after > before + 0.3 and after > 0.8
