"""Scores -> audio: the built-in additive synthesiser (default), or FluidSynth with a soundfont.

The built-in path needs only numpy and gives the same samples on every machine, which is why it is the
default (benchmarks and tests do not depend on what happens to be installed). Levels are not
normalised per piece: dynamics are a cue (loud for high arousal), so a soft plan must stay soft.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from emogen.errors import EmotionError
from emogen.music.composer import Note, Score
from emogen.music.instruments import INSTRUMENTS, KICK, SNARE, Instrument

DEFAULT_SAMPLE_RATE = 22050
# A neutral plan (velocity 72) comes out near -20 dBFS RMS, the usual digital reference level (SMPTE RP 155),
# so that louder and softer plans spread around it.
MASTER_GAIN = 0.7
FADE_OUT_S = 0.05  # the piece is cut at its length; a short fade avoids a click
SOUNDFONT_PATHS = (Path("/usr/share/sounds/sf2/TimGM6mb.sf2"), Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"))


def render(score: Score, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """The score as mono float32 samples in [-1, 1], exactly ``score.seconds`` long."""
    length = int(round(score.seconds * sample_rate))
    mix = np.zeros(length + int(2.0 * sample_rate), dtype=np.float64)  # room for release tails
    for note in score.notes:
        start = int(round(note.start_s * sample_rate))
        if start >= length:
            continue
        if note.part == "drums":
            voice = _drum(note, sample_rate)
        else:
            voice = _voice(note, INSTRUMENTS[note.instrument], sample_rate)
        end = min(start + voice.size, mix.size)
        mix[start:end] += voice[: end - start]
    return _master(mix[:length], sample_rate)


def _voice(note: Note, instrument: Instrument, sample_rate: int) -> np.ndarray:
    frequency = 440.0 * 2.0 ** ((note.pitch - 69) / 12.0)
    total = note.duration_s + instrument.release_s
    t = np.arange(int(total * sample_rate)) / sample_rate
    # Velocity -> amplitude by the square law many synthesisers use (about 40 dB from 1 to 127).
    amplitude = instrument.gain * (note.velocity / 127.0) ** 2
    exponent = instrument.rolloff * (1.5 - note.brightness)
    harmonics = np.arange(1, instrument.partials + 1)
    harmonics = harmonics[harmonics * frequency < 0.45 * sample_rate]
    weights = harmonics ** -exponent
    weights /= weights.sum()
    if instrument.struck:
        # Upper partials of struck strings and bars die faster than the fundamental.
        decay = np.exp(-t[None, :] / (instrument.decay_s / np.sqrt(harmonics))[:, None])
        tone = np.sum(weights[:, None] * decay * np.sin(2 * np.pi * frequency * np.outer(harmonics, t)), axis=0)
    else:
        tone = weights @ np.sin(2 * np.pi * frequency * np.outer(harmonics, t))
    return amplitude * tone * _envelope(t, note.duration_s, instrument)


def _drum(note: Note, sample_rate: int) -> np.ndarray:
    """Kick: a sine falling from 150 to 45 Hz; snare: noise; hi-hat: high-passed noise.

    None of them is pitched inside the range the scorer's chroma reads (the kick settles below the lowest
    bass note, 65 Hz). The noise comes from a fixed seed per drum, so every hit of a drum sounds the same,
    as with a sampled kit.
    """
    t = np.arange(int(0.4 * sample_rate)) / sample_rate
    noise = np.random.default_rng(note.pitch).standard_normal(t.size)
    if note.pitch == KICK:
        phase = 2 * np.pi * np.cumsum(45.0 + 105.0 * np.exp(-t / 0.03)) / sample_rate
        tone = 0.9 * np.sin(phase) * np.exp(-t / 0.12)
    elif note.pitch == SNARE:
        tone = 0.4 * noise * np.exp(-t / 0.07)
    else:
        tone = 0.1 * np.diff(noise, prepend=0.0) * np.exp(-t / 0.02)
    return (note.velocity / 127.0) ** 2 * tone


def _envelope(t: np.ndarray, duration: float, instrument: Instrument) -> np.ndarray:
    attack = np.clip(t / instrument.attack_s, 0.0, 1.0)
    if instrument.decay_s > 0 and not instrument.struck:
        level = instrument.sustain + (1 - instrument.sustain) * np.exp(-np.maximum(t - instrument.attack_s, 0.0)
                                                                      / instrument.decay_s)
    else:
        level = np.ones_like(t)
    release = np.clip(1.0 - (t - duration) / instrument.release_s, 0.0, 1.0)
    return attack * level * release


def _master(mix: np.ndarray, sample_rate: int) -> np.ndarray:
    out = MASTER_GAIN * mix
    # Soft clip above -3 dBFS instead of wrapping or renormalising the whole piece.
    knee = 0.7
    loud = np.abs(out) > knee
    out[loud] = np.sign(out[loud]) * (knee + (1 - knee) * np.tanh((np.abs(out[loud]) - knee) / (1 - knee)))
    fade = min(out.size, int(FADE_OUT_S * sample_rate))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return out.astype(np.float32)


def find_soundfont(path: str | Path | None = None) -> Path:
    """``path`` if it is a readable soundfont, else the first installed General MIDI one."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise EmotionError(f"soundfont {path} does not exist; give a .sf2 file "
                               f"(Debian: apt-get install timgm6mb-soundfont)")
        return path
    for candidate in SOUNDFONT_PATHS:
        if candidate.is_file():
            return candidate
    raise EmotionError(f"no soundfont found at {', '.join(map(str, SOUNDFONT_PATHS))}; give --soundfont FILE.sf2 "
                       "(Debian: apt-get install timgm6mb-soundfont) or use the built-in synthesiser")


def render_fluidsynth(score: Score, soundfont: str | Path | None = None,
                      sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """The score played by FluidSynth from a General MIDI soundfont; mono float32, ``score.seconds`` long."""
    from emogen.music.midi import write_midi
    from emogen.audio import read_wav

    font = find_soundfont(soundfont)
    binary = shutil.which("fluidsynth")
    if binary is None:
        raise EmotionError("the fluidsynth program is not installed (Debian: apt-get install fluidsynth); "
                           "drop --soundfont to use the built-in synthesiser")
    with tempfile.TemporaryDirectory() as folder:
        midi, wav = Path(folder) / "score.mid", Path(folder) / "score.wav"
        write_midi(score, midi)
        command = [binary, "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-F", str(wav), str(font), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0 or not wav.is_file():
            raise EmotionError(f"fluidsynth failed on soundfont {font}: {(result.stderr or result.stdout).strip()}")
        audio, rate = read_wav(wav)
    length = int(round(score.seconds * sample_rate))
    audio = np.pad(audio, (0, max(0, length - audio.size)))[:length]
    fade = min(audio.size, int(FADE_OUT_S * rate))
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return audio
