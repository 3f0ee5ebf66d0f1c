"""What a talking head speaks: synthesised from text (with known phoneme timings) or read from a WAV.

Both give a ``SpeechInput``; ``mouth_track`` turns it into the (n, 52) mouth: visemes from the engine's
phoneme timings when emogen spoke the text (exact timing, no model; their opening scaled by the audio's
loudness), the learned audio -> mouth model for any other recording; either way the opening then follows
the frame-by-frame vocal effort (``emogen.talking.effort``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError

# A recording quieter than this everywhere is silence (or a wrong file): -60 dBFS RMS in its loudest
# 100 ms window, below the noise floor of an ordinary room recording.
SILENCE_DBFS = -60.0
MIN_SECONDS, MAX_SECONDS = 0.2, 600.0
SAMPLE_RATES = (8000, 192000)


@dataclass(frozen=True, eq=False)
class SpeechInput:
    audio: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    source: str  # "text" or "audio"
    phonemes: tuple = ()  # emogen.speech Timing items when the speech was synthesised
    details: dict = field(default_factory=dict)  # for the sidecar: text, engine, voice, speech scores / file

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


def speech_from_text(text: str, emotion: str | Emotion | EmotionArc, engine: str = "espeak",
                     voice: str | None = None) -> SpeechInput:
    """Speak ``text`` with emogen's expressive speech: the emotion (or arc) shapes the prosody too."""
    from emogen.speech.speak import speak

    result = speak(text, emotion=EmotionArc.parse(emotion), engine=engine, voice=voice)
    utterance = result.utterance
    details = {"text": result.plan.text, "engine": result.engine, "voice": result.voice,
               "speech_scores": result.estimate.to_dict(),
               "speech_real_time_factor": round(result.real_time_factor, 4)}
    audio = np.asarray(utterance.audio, dtype=np.float32)
    check_audio(audio, utterance.sample_rate, f"the speech for {text[:40]!r}")
    return SpeechInput(audio, utterance.sample_rate, "text", tuple(utterance.phonemes), details)


def speech_from_wav(path: str | Path) -> SpeechInput:
    """Read a WAV (16-bit PCM, any rate from 8 to 192 kHz, channels averaged) and check it is speakable."""
    from emogen.audio import read_wav

    path = Path(path)
    if path.suffix.lower() != ".wav":
        raise EmotionError(f"--audio {path}: only WAV files are read (16-bit PCM .wav), got {path.suffix or 'no suffix'}")
    audio, rate = read_wav(path)
    check_audio(audio, rate, str(path))
    return SpeechInput(np.asarray(audio, dtype=np.float32), int(rate), "audio", (), {"audio_file": str(path)})


def check_audio(audio: np.ndarray, sample_rate: int, what: str) -> None:
    """Refuse audio a face cannot speak: too short or long, an odd sample rate, silence, NaNs."""
    low, high = SAMPLE_RATES
    if not low <= sample_rate <= high:
        raise EmotionError(f"{what} has sample rate {sample_rate} Hz; accepted: {low} to {high} Hz")
    duration = len(audio) / sample_rate
    if not MIN_SECONDS <= duration <= MAX_SECONDS:
        raise EmotionError(f"{what} lasts {duration:.3f} s; accepted: {MIN_SECONDS:g} to {MAX_SECONDS:g} s")
    if not np.isfinite(audio).all():
        raise EmotionError(f"{what} holds NaN or infinite samples")
    window = min(len(audio), max(1, int(0.1 * sample_rate)))
    energy = np.concatenate([[0.0], np.cumsum(np.asarray(audio, np.float64) ** 2)])
    power = (energy[window:] - energy[:-window]) / window
    loudest = 10 * np.log10(max(float(power.max(initial=0.0)), 1e-20))
    if loudest < SILENCE_DBFS:
        raise EmotionError(f"{what} is silent (loudest 100 ms at {loudest:.0f} dBFS, below {SILENCE_DBFS:g} dBFS): "
                           "nothing for the face to say")


# espeak-ng's PHONEME event for a stop consonant comes late: measured on espeak-ng's en-us voice ("Papa put
# a pack of paper by the pot.", raw and after emogen's prosody rendering), the silent closure of /p t k b/
# begins 37-60 ms before the event and ends 33 ms (27-47) before the next phoneme's event, i.e. the event
# marks about the release. Flite's labels cover the closure (it ends 2-10 ms before the label's end).
# The lips must be shut during the closure, so stops from espeak are moved this much earlier.
STOP_LAGS_S = {"espeak": 0.035}
_STOPS = frozenset("p b t d k g ɡ".split())


def align_stops(phonemes, engine: str | None) -> tuple:
    """The engine's phoneme timings with each stop consonant moved to its acoustic closure (STOP_LAGS_S).

    The stop keeps its duration; the phoneme before it ends where the stop now starts and the one after
    it starts where the stop now ends, so the timings still tile the utterance."""
    lag = STOP_LAGS_S.get(engine or "", 0.0)
    timings = list(phonemes)
    if not lag:
        return tuple(timings)
    from emogen.speech.engines.base import Timing

    for index, timing in enumerate(timings):
        if timing.label.strip("ːˈˌ") not in _STOPS:
            continue
        floor = timings[index - 1].start if index else 0.0  # never before the previous phoneme's start
        start = max(floor, timing.start - lag)
        end = max(start, timing.end - (timing.start - start))
        if index and abs(timings[index - 1].end - timing.start) < 1e-6:
            timings[index - 1] = Timing(timings[index - 1].label, timings[index - 1].start, start)
        if index + 1 < len(timings) and abs(timings[index + 1].start - timing.end) < 1e-6:
            following = timings[index + 1]
            timings[index + 1] = Timing(following.label, end, max(end, following.end))
        timings[index] = Timing(timing.label, start, end)
    return tuple(timings)


def mouth_track(speech: SpeechInput, fps: float, n_frames: int, audio_model=None) -> tuple[np.ndarray, str]:
    """(n_frames, 52) mouth and the name of the method that made it."""
    from emogen.talking.effort import apply_effort

    if speech.phonemes:
        from emogen.talking.visemes import mouth_from_phonemes

        phonemes = align_stops(speech.phonemes, speech.details.get("engine"))
        # With the audio, louder sounds open the jaw wider (visemes alone give every /a/ the same jaw).
        mouth = mouth_from_phonemes(phonemes, fps, n_frames, audio=speech.audio, sample_rate=speech.sample_rate)
        method = "visemes from the engine's phoneme timings, scaled by loudness"
    else:
        from emogen.talking.audio_mouth import mouth_from_audio

        mouth = mouth_from_audio(speech.audio, speech.sample_rate, fps, n_frames, model=audio_model)
        method = "learned audio-to-mouth model (emogen.talking.audio_mouth)"
    # Both then open wider on loud frames and less on quiet ones (vocal effort, emogen.talking.effort).
    return apply_effort(mouth, speech.audio, speech.sample_rate, fps), method + ", with vocal-effort gain"
