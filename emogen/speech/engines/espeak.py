"""espeak-ng through its C library (ctypes): audio plus word and phoneme times from the synth callback.

libespeak-ng (GPL-3, Debian package ``libespeak-ng1``) is loaded at run time and not linked or shipped,
so emogen itself stays Apache-2.0. The library is a process-wide singleton (it keeps global state), so
every call holds one lock.

Times come from the callback's events: each WORD event carries the character position of the word in the
text and the sample at which it starts; each PHONEME event (with IPA names, because of
espeakINITIALIZE_PHONEME_IPA) the sample where the phoneme starts. Pauses show up as phonemes without a
name; they end words.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import threading
from dataclasses import dataclass

import numpy as np

from emogen.errors import EmotionError
from emogen.speech.engines.base import SpeechEngine, Timing, Utterance
from emogen.speech.plan import ProsodyPlan
from emogen.speech.text import Word, check_text, split_words

# espeak_lib.h constants.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_PHONEME_IPA = 0x0002
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_PARAMETER_RATE = 1
_EE_OK = 0
NEUTRAL_RATE_WPM = 175  # espeak-ng's default speed
RATE_LIMITS_WPM = (80, 450)
DEFAULT_VOICE = "en-us"
INSTALL_HINT = "install it with: apt-get install espeak-ng (scripts/setup.sh does this)"


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms
        ("sample", ctypes.c_int),  # sample index within this synthesis
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # union: phoneme name for PHONEME events
    ]


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # <priority byte><name>\0, repeated, ending with a 0 byte
        ("identifier", ctypes.c_char_p),  # voice file, e.g. gmw/en
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass
class _Capture:
    chunks: list
    words: list  # (text_position, sample)
    phonemes: list  # (name, sample)


class _Library:
    """The loaded libespeak-ng: initialised once, used under a lock."""

    _instance: _Library | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError:
            raise EmotionError(f"engine 'espeak' needs the espeak-ng library, which is not installed; {INSTALL_HINT}") from None
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.lib.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
        self.sample_rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_PHONEME_IPA | _INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise EmotionError(f"espeak-ng failed to initialise (its data files may be missing); {INSTALL_HINT}")
        self.lock = threading.Lock()
        self.capture: _Capture | None = None
        self._callback = _Callback(self._on_audio)  # kept referenced: the library calls it
        self.lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> _Library:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_audio(self, wav, count, events) -> int:
        capture = self.capture
        if count > 0:
            capture.chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        index = 0
        while events[index].type != _EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == _EVENT_WORD:
                capture.words.append((event.text_position - 1, event.sample))
            elif event.type == _EVENT_PHONEME:
                capture.phonemes.append((bytes(event.id).decode("utf-8", "replace"), event.sample))
            index += 1
        return 0

    def languages(self) -> list[str]:
        voices = self.lib.espeak_ListVoices(None)
        names, index = set(), 0
        while voices[index]:
            names.update(_voice_languages(voices[index].contents))
            index += 1
        return sorted(names)

    def _select_voice(self, voice: str) -> bool:
        """By voice file name ('en-us+f3'), else by language ('en-gb+f3'), as the espeak-ng program does.

        Selecting by language drops the '+variant', so the variant is applied to the voice found.
        """
        if self.lib.espeak_SetVoiceByName(voice.encode("utf-8")) == _EE_OK:
            return True
        language, plus, variant = voice.partition("+")
        wanted = _Voice(languages=ctypes.cast(ctypes.c_char_p(language.encode("utf-8")), ctypes.c_void_p).value)
        if self.lib.espeak_SetVoiceByProperties(ctypes.byref(wanted)) != _EE_OK:
            return False
        # Selection by properties falls back to some voice for any language: check it speaks this one.
        if language.lower() not in _voice_languages(self.lib.espeak_GetCurrentVoice().contents):
            return False
        if not plus:
            return True
        identifier = self.lib.espeak_GetCurrentVoice().contents.identifier
        return self.lib.espeak_SetVoiceByName(identifier + b"+" + variant.encode("utf-8")) == _EE_OK

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> _Capture:
        with self.lock:
            if not self._select_voice(voice):
                shown = ", ".join(self.languages()[:40])
                raise EmotionError(
                    f"espeak-ng has no voice {voice!r}; accepted: a language such as {shown}, ... "
                    "optionally with a variant ('en-us+f3'); see `espeak-ng --voices`"
                )
            self.lib.espeak_SetParameter(_PARAMETER_RATE, int(rate_wpm), 0)
            self.capture = _Capture([], [], [])
            data = text.encode("utf-8")
            status = self.lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            capture, self.capture = self.capture, None
        if status != _EE_OK:
            raise EmotionError(f"espeak-ng could not speak {text[:40]!r} (status {status})")
        return capture


def _voice_languages(voice: _Voice) -> set[str]:
    """The languages a voice speaks: <priority byte><name>\0 entries, ending with a 0 byte."""
    address, position, names = voice.languages, 0, set()
    while address and ctypes.string_at(address + position, 1) != b"\0":
        name = ctypes.string_at(address + position + 1)
        names.add(name.decode("ascii", "replace").lower())
        position += len(name) + 2
    return names


class EspeakEngine(SpeechEngine):
    """espeak-ng; realises the plan's speaking rate itself (its words-per-minute control)."""

    name = "espeak"
    realises = frozenset({"rate"})

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self._voice = voice
        self._library = _Library.get()
        self._library.synthesize("a", voice, NEUTRAL_RATE_WPM)  # fail now, naming the voice, if it is unknown

    @property
    def voice(self) -> str:
        return self._voice

    def synthesize(self, text: str, plan: ProsodyPlan | None = None) -> Utterance:
        words = split_words(check_text(text))
        capture = self._library.synthesize(text, self._voice, _rate_wpm(plan))
        audio = np.concatenate(capture.chunks).astype(np.float32) / 32768.0 if capture.chunks else np.zeros(0, np.float32)
        sample_rate = self._library.sample_rate
        phonemes = _phoneme_timings(capture.phonemes, len(audio), sample_rate)
        return Utterance(audio, sample_rate, _word_timings(words, capture, len(audio), sample_rate), phonemes)


def _rate_wpm(plan: ProsodyPlan | None) -> int:
    if plan is None:
        return NEUTRAL_RATE_WPM
    # One rate per call: the mean over the words; the post-processor corrects each word's remainder.
    rate = float(np.exp(np.mean([np.log(w.cues.rate) for w in plan.words])))
    return int(np.clip(round(NEUTRAL_RATE_WPM * rate), *RATE_LIMITS_WPM))


def _phoneme_timings(phonemes: list, total: int, sample_rate: int) -> tuple[Timing, ...]:
    timings = []
    for index, (name, sample) in enumerate(phonemes):
        end = phonemes[index + 1][1] if index + 1 < len(phonemes) else total
        if name and end > sample:
            timings.append(Timing(name, sample / sample_rate, end / sample_rate))
    return tuple(timings)


def _word_timings(words: tuple[Word, ...], capture: _Capture, total: int, sample_rate: int) -> tuple[Timing, ...]:
    """One Timing per word: start at the word's first WORD event, end at the next word or pause."""
    starts: list[int | None] = [None] * len(words)
    spans = [(w.start, w.end) for w in words]
    for position, sample in capture.words:
        for index, (low, high) in enumerate(spans):
            if low <= position < high:
                if starts[index] is None:
                    starts[index] = sample
                break
    # A word espeak did not announce (rare: it merged it with a neighbour) starts where the previous one did.
    for index in range(len(starts)):
        if starts[index] is None:
            starts[index] = starts[index - 1] if index else 0
    pauses = np.array([sample for name, sample in capture.phonemes if not name] + [total])
    timings = []
    for index, word in enumerate(words):
        following = starts[index + 1] if index + 1 < len(words) else total
        after = pauses[pauses > starts[index]]
        end = min(following, int(after.min())) if len(after) else following
        timings.append(Timing(word.text, starts[index] / sample_rate, max(end, starts[index]) / sample_rate))
    return tuple(timings)
