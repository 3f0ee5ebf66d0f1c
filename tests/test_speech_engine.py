"""The espeak-ng engine (real library, real audio), the YIN tracker and TD-PSOLA on known signals."""
import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.speech.engines import get_engine
from emogen.speech.engines.base import Timing, Utterance
from emogen.speech.features import Analysis
from emogen.speech.pitch import track_pitch
from emogen.speech.plan import ProsodyPlan
from emogen.speech.postprocess import RenderConfig, _psola

SR = 22050


def harmonic_tone(f0_hz: np.ndarray) -> np.ndarray:
    """A voice-like tone: 20 harmonics with decaying amplitude following the F0 contour."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    return (0.1 * sum(np.sin(k * phase) * 0.85**k for k in range(1, 21))).astype(np.float32)


@pytest.fixture(scope="module")
def espeak():
    return get_engine("espeak")


def test_yin_tracks_a_gliding_tone_within_a_tenth_of_a_semitone():
    t = np.arange(2 * SR) / SR
    f0 = 120.0 * 2 ** (4.0 * np.sin(2 * np.pi * 0.5 * t) / 12)
    track = track_pitch(harmonic_tone(f0), SR)
    truth = np.interp(track.times, t, f0)
    voiced = track.voiced
    assert voiced.mean() > 0.95
    assert np.abs(12 * np.log2(track.f0[voiced] / truth[voiced])).mean() < 0.1


def test_yin_calls_noise_and_silence_unvoiced():
    rng = np.random.default_rng(0)
    audio = np.concatenate([np.zeros(SR // 2), 0.1 * rng.standard_normal(SR // 2)]).astype(np.float32)
    assert track_pitch(audio, SR).voiced.mean() < 0.05


@pytest.mark.parametrize("semitones, stretch", [(3.0, 1.0), (-3.0, 1.0), (0.0, 1.3), (2.0, 0.8)])
def test_psola_shifts_pitch_and_stretches_time_as_asked(semitones, stretch):
    t = np.arange(int(1.5 * SR)) / SR
    audio = harmonic_tone(110.0 * 2 ** (2.0 * np.sin(2 * np.pi * 0.7 * t) / 12))
    source = Analysis.of(Utterance(audio, SR, (Timing("tone", 0.0, 1.5),)))
    shift = np.full(len(source.track.f0), semitones)
    out = _psola(audio, SR, source, shift, np.zeros_like(shift), np.array([0.0, 1.5]), np.array([0.0, 1.5 * stretch]),
                 RenderConfig(), np.random.default_rng(0))
    assert len(out) / SR == pytest.approx(1.5 * stretch, abs=0.01)
    result = track_pitch(out, SR)
    before = source.track.f0
    after = np.interp(source.track.times * stretch, result.times, result.f0)
    both = (before > 0) & (after > 0)
    assert np.median(12 * np.log2(after[both] / before[both])) == pytest.approx(semitones, abs=0.1)


def test_espeak_returns_audio_with_word_and_phoneme_times(espeak):
    text = "Hello there, it's 1990. Café naïve!"
    utterance = espeak.synthesize(text)
    assert utterance.sample_rate == 22050 and utterance.audio.dtype == np.float32
    assert 1.5 < utterance.duration < 6 and np.abs(utterance.audio).max() > 0.1
    assert [w.label for w in utterance.words] == text.split()
    starts = [w.start for w in utterance.words]
    assert starts == sorted(starts) and all(w.end >= w.start for w in utterance.words)
    assert utterance.words[3].end - utterance.words[3].start > 0.6  # "1990" is four spoken words long
    labels = [p.label for p in utterance.phonemes]
    assert "h" in labels and "ð" in labels  # IPA names from the callback
    # Every word window holds speech: the times point into the audio, not next to it.
    rms = [np.sqrt(np.mean(utterance.audio[int(w.start * 22050):int(w.end * 22050)] ** 2)) for w in utterance.words]
    assert min(rms) > 0.02


def test_espeak_realises_the_plan_rate_itself(espeak):
    text = "We will meet again tomorrow morning."
    neutral = espeak.synthesize(text)
    fast = espeak.synthesize(text, ProsodyPlan.from_dict({"text": text, "utterance": {"rate": 1.5}}))
    assert fast.duration < 0.8 * neutral.duration


def test_other_espeak_voices_and_bad_voices(espeak):
    german = get_engine("espeak", "de").synthesize("Guten Morgen, wie geht es dir?")
    assert len(german.words) == 6 and german.duration > 1
    text = "Good morning to you."
    default = track_pitch(espeak.synthesize(text).audio, SR).median_hz()
    for voice in ("en-us+f3", "en-gb+f3"):  # by file name, and by language (the variant must survive both)
        female = track_pitch(get_engine("espeak", voice).synthesize(text).audio, SR).median_hz()
        assert 10 < 12 * np.log2(female / default) < 14  # the f3 variant speaks about an octave higher
    with pytest.raises(EmotionError, match="espeak-ng has no voice 'xx-klingon'; accepted: .*en-us"):
        get_engine("espeak", "xx-klingon")


@pytest.mark.parametrize("name, fragment", [
    ("festival", "unknown speech engine 'festival'; accepted: espeak, flite, piper, coqui"),
    ("coqui", "model folder"),
])
def test_engines_that_are_not_there_say_what_to_do(name, fragment):
    with pytest.raises(EmotionError) as err:
        get_engine(name)
    assert fragment in str(err.value)


def test_flite_gives_phone_times_and_phrase_aligned_word_times():
    engine = get_engine("flite", "slt")
    text = "Hello there, it is raining. We stay inside."
    utterance = engine.synthesize(text)
    assert utterance.sample_rate == 16000 and utterance.duration > 1.5
    assert [w.label for w in utterance.words] == text.split()
    assert utterance.phonemes[0].label == "hh" and utterance.phonemes[-1].end <= utterance.duration + 0.01
    # Phrase edges are the synthesiser's own pauses: the comma's pause lies between "there," and "it".
    assert utterance.words[2].start - utterance.words[1].end > 0.05
    with pytest.raises(EmotionError, match="flite has no voice 'zz'; accepted: .*slt"):
        get_engine("flite", "zz")
