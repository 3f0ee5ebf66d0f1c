"""Phoneme timings -> ARKit mouth blendshape tracks (visemes with coarticulation).

Viseme classes. The 15 visemes of Oculus/Meta OVR LipSync ("Viseme reference", Meta Quest developer
documentation, audio-ovrlipsync-viseme-reference): sil, PP (p b m), FF (f v), TH (th), DD (t d), kk
(k g), CH (ch j sh), SS (s z), nn (n l), RR (r), aa (car), E (bed), ih (tip), oh (toe), ou (book).
That grouping follows the MPEG-4 FBA visemes (ISO/IEC 14496-2, Annex C), so phonemes of other
languages fall in by place of articulation and lip rounding: rounded front vowels (y, ø) take the
rounded shapes, uvular and velar consonants take kk, and so on (``_IPA`` below).

Labels. espeak-ng and Piper give IPA (espeak is initialised with espeakINITIALIZE_PHONEME_IPA; Piper
phonemises with espeak-ng), Flite gives lower-case ARPAbet (CMUdict symbols: ax, dh, jh, pau ...).
``alphabet="auto"`` tells them apart by the labels. Length marks, stress marks, tone letters, digits
(ARPAbet stress) and combining diacritics (nasal tilde, syllabic mark) are dropped before lookup. A
label of several IPA letters (diphthongs aɪ, eɪ, oʊ; clusters) is split in time among its letters;
affricates (tʃ, dʒ, ts) are looked up whole first.
Fallback: a label with no known letter at all (an engine symbol this table lacks) becomes ``FALLBACK_VISEME``
(DD: jaw slightly open, lips neutral, what most consonants look like), so an unknown label still moves
the mouth a little and never fails; pause labels (pau, sil, _, empty) are silence; espeak-ng's language
switch markers ('(en)') are no sound at all.

Coarticulation: the dominance model of Cohen & Massaro (1993), "Modeling coarticulation in synthetic
visual speech", in Models and Techniques in Computer Animation, Springer, pp. 139-156. Every segment
pulls the mouth towards its target with a dominance that is flat over the segment and decays
exponentially outside it; each frame is the dominance-weighted mean of the targets, so the track is
smooth and stays inside [0, 1]. Dominance decays more slowly before a segment (anticipation) than after
it (carry-over): the lips start moving towards a sound ~100 ms before it is heard. Mouth movements lead
the voice by 100-300 ms at utterance onsets (Chandrasekaran et al. 2009, "The natural statistics of
audiovisual speech", PLoS Comput Biol 5(7): e1000436) and anticipatory lip rounding begins well before
the rounded vowel (Benguerel & Cowan 1974, Phonetica 30). The apex stays on the sound, so lip sync
measured against the audio envelope is not shifted. Each segment has two dominances, one for the
opening channels (jaw, lip parting) and one for the lip shape (rounding, spreading, f/v, tongue), as
Cohen & Massaro give each articulatory parameter its own: lingual consonants (t, k, n, s) hold the jaw
but take their neighbours' lip rounding. Bilabials (p b m) have the highest dominance and, in addition,
seal the lips (mouthClose = jawOpen, lip-parting channels held down) on every frame whose instant lies
inside them, or the nearest frame when they are shorter than one, so no /p b m/ is ever shown with an
open mouth. Silence relaxes to the closed, neutral mouth (all zeros). Given the audio, louder sounds
open the jaw wider (``loudness_factors``).

Frame ``f`` stands for the instant (f + 0.5) / fps, the middle of the time it is on screen.
Emotion channels (smile, frown, brows) are never driven here: speech and emotion stay separate.
"""
from __future__ import annotations

import math
import unicodedata
from typing import Mapping, Sequence

import numpy as np

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, NUM_BLENDSHAPES
from emogen.speech.engines.base import Timing
from emogen.videofile import check_fps

MOUTH_BLENDSHAPES: tuple[str, ...] = (
    "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper",
    "mouthPressLeft", "mouthPressRight", "tongueOut",
)
MOUTH_INDICES = np.array([BLENDSHAPE_INDEX[name] for name in MOUTH_BLENDSHAPES])

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
FALLBACK_VISEME = "DD"


def _sym(**values: float) -> dict[str, float]:
    """Left/Right pairs written once: lowerDown=0.3 -> mouthLowerDownLeft/Right = 0.3."""
    names = {"lowerDown": "mouthLowerDown", "upperUp": "mouthUpperUp", "stretch": "mouthStretch", "press": "mouthPress"}
    shape: dict[str, float] = {}
    for key, value in values.items():
        if key in names:
            shape[names[key] + "Left"] = shape[names[key] + "Right"] = value
        else:
            shape[key] = value
    return shape


# Viseme -> mouth blendshapes at full articulation. Values were chosen by reading the ARKit definitions
# (jawOpen opens the jaw, mouthClose closes the lips over an open jaw, mouthFunnel/mouthPucker round,
# mouthStretch spreads, mouthRoll* tucks the lips in, mouthLowerDown/UpperUp part the lips at the
# centre) and the OVR reference images; they are not fitted to data.
VISEME_SHAPES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": _sym(jawOpen=0.06, mouthClose=0.06, press=0.35, mouthRollLower=0.2, mouthRollUpper=0.1),
    "FF": _sym(jawOpen=0.08, mouthRollLower=0.5, upperUp=0.25, lowerDown=0.0),
    "TH": _sym(jawOpen=0.16, tongueOut=0.35, lowerDown=0.1, upperUp=0.05),
    "DD": _sym(jawOpen=0.18, lowerDown=0.12, stretch=0.1),
    "kk": _sym(jawOpen=0.24, lowerDown=0.12, stretch=0.12),
    "CH": _sym(jawOpen=0.12, mouthFunnel=0.45, mouthPucker=0.25, upperUp=0.15, lowerDown=0.15),
    "SS": _sym(jawOpen=0.07, stretch=0.3, upperUp=0.12, lowerDown=0.12),
    "nn": _sym(jawOpen=0.15, lowerDown=0.06, stretch=0.06),
    "RR": _sym(jawOpen=0.16, mouthFunnel=0.3, mouthPucker=0.3, upperUp=0.05),
    "aa": _sym(jawOpen=0.65, lowerDown=0.35, upperUp=0.15, stretch=0.1),
    "E": _sym(jawOpen=0.4, lowerDown=0.3, upperUp=0.12, stretch=0.35),
    "ih": _sym(jawOpen=0.22, lowerDown=0.15, upperUp=0.05, stretch=0.4),
    "oh": _sym(jawOpen=0.45, mouthFunnel=0.5, mouthPucker=0.3, lowerDown=0.1),
    "ou": _sym(jawOpen=0.15, mouthFunnel=0.35, mouthPucker=0.75),
}

# How strongly each viseme holds its shape against its neighbours (Cohen & Massaro's alpha), separately for
# the opening channels (jaw and lip parting) and the shape channels (rounding, spreading, f/v, tongue), as
# Cohen & Massaro give each articulatory parameter its own dominance: /s t d n k/ hold the jaw fairly high
# (the jaw is most raised for /s/ and /t/) but take the lip rounding of their neighbours.
DOMINANCE: dict[str, tuple[float, float]] = {
    "sil": (1.0, 1.0), "PP": (3.0, 3.0), "FF": (2.0, 2.0), "TH": (1.0, 0.8), "DD": (1.2, 0.4), "kk": (0.8, 0.4),
    "CH": (1.2, 1.2), "SS": (1.5, 0.6), "nn": (0.8, 0.4), "RR": (0.9, 0.9), "aa": (1.0, 1.0), "E": (1.0, 1.0),
    "ih": (1.0, 1.0), "oh": (1.0, 1.3), "ou": (1.0, 1.5),
}
ANTICIPATION_S = 0.04  # decay time of a segment's pull before it starts (lips get ready early)
CARRYOVER_S = 0.025  # decay time after it ends
_FOREVER_S = 1e6
MIN_PAUSE_S = 0.02  # shorter gaps between phonemes are joins, not pauses
REST_DOMINANCE = 0.02  # a weak pull to the closed mouth everywhere: far from any sound the mouth rests

# IPA letter (or affricate) -> (viseme, strength). Strength < 1 for reduced vowels (schwa, ɐ), which are
# articulated with less jaw opening than full vowels.
_IPA: dict[str, tuple[str, float]] = {}


def _add(table: dict, viseme: str, symbols: str, strength: float = 1.0) -> None:
    for symbol in symbols.split():
        table[symbol] = (viseme, strength)


_add(_IPA, "PP", "p b m ɓ ʙ")
_add(_IPA, "FF", "f v ɱ ʋ ɸ β ⱱ")
_add(_IPA, "TH", "θ ð")
_add(_IPA, "DD", "t d ɾ ɗ ʈ ɖ ɽ ʄ c ɟ")
_add(_IPA, "kk", "k ɡ g q ɢ x ɣ χ ʁ ħ ʕ h ɦ ʔ ʡ ʜ ʢ ɠ ʛ ɧ")
_add(_IPA, "CH", "ʃ ʒ tʃ dʒ ç ʝ ɕ ʑ ʂ ʐ tɕ dʑ tʂ dʐ")
_add(_IPA, "SS", "s z ts dz")
_add(_IPA, "nn", "n ŋ ɲ ɳ ɴ l ɫ ɬ ɮ ɭ ʎ ʟ ɺ")
_add(_IPA, "RR", "ɹ r ɻ ʀ ɚ ɝ ʴ")
_add(_IPA, "aa", "a ɑ æ ä ʌ ɶ")
_add(_IPA, "aa", "ɐ", 0.75)
_add(_IPA, "E", "e ɛ ɜ ɘ ɤ ɞ")
_add(_IPA, "E", "ə ᵊ", 0.6)
_add(_IPA, "ih", "i ɪ ɨ ɯ j ɰ ᵻ")
_add(_IPA, "oh", "o ɔ ɒ ø œ ɵ")
_add(_IPA, "ou", "u ʊ ʉ w y ʏ ɥ ʍ")

# ARPAbet as Flite and CMUdict write it (lower case; digits = stress, dropped).
_ARPABET: dict[str, tuple[str, float]] = {}
_add(_ARPABET, "PP", "p b m em")
_add(_ARPABET, "FF", "f v")
_add(_ARPABET, "TH", "th dh")
_add(_ARPABET, "DD", "t d dx")
_add(_ARPABET, "kk", "k g hh q")
_add(_ARPABET, "CH", "ch jh sh zh")
_add(_ARPABET, "SS", "s z")
_add(_ARPABET, "nn", "n l ng en el nx")
_add(_ARPABET, "RR", "r er axr")
_add(_ARPABET, "aa", "aa ae ah")
_add(_ARPABET, "E", "eh")
_add(_ARPABET, "E", "ax ix", 0.6)
_add(_ARPABET, "ih", "ih iy y")
_add(_ARPABET, "oh", "ao")
_add(_ARPABET, "ou", "uw uh w")
# ARPAbet diphthongs: the two IPA parts, split in time like IPA diphthongs.
_ARPABET_DIPHTHONGS = {"aw": "aʊ", "ay": "aɪ", "ey": "eɪ", "ow": "oʊ", "oy": "ɔɪ"}
_PAUSES = {"", "pau", "sil", "sp", "spn", "h#", "_", "#", "brth", "ssil"}
_ARPABET_ONLY = set(_ARPABET) | set(_ARPABET_DIPHTHONGS) | {"pau", "h#", "brth"}
_ARPABET_ONLY -= set(_IPA)  # codes that cannot be IPA: any of these in the labels means ARPAbet
_DIPHTHONG_FIRST_PART = 0.6  # the first element of a diphthong holds a little longer than the glide
ALPHABETS = ("auto", "ipa", "arpabet")


def _clean(label: str) -> str:
    """Drop what does not change the lip shape: diacritics, length, stress, tone, digits, separators."""
    text = unicodedata.normalize("NFD", str(label).strip())
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("M"):  # combining marks: nasal tilde, syllabic, voiceless ring ...
            continue
        if char in "ːˑˈˌ'-_.|‖^$0123456789" or category.startswith(("P", "Z", "S")):
            continue  # length, stress, tone letters, punctuation, digits (ARPAbet stress)
        if category == "Lm" and char not in _IPA:
            continue  # secondary articulations: ʲ ʷ ʰ ᵝ ...
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _segments_for(label: str, table: Mapping[str, tuple[str, float]], split: bool = True
                  ) -> list[tuple[str, float, float]] | None:
    """The (viseme, strength, share of the duration) parts of one cleaned label; None if nothing known.

    ``split``: read an unknown label letter by letter (IPA); ARPAbet codes are looked up whole only.
    """
    if label in table:
        viseme, strength = table[label]
        return [(viseme, strength, 1.0)]
    if not split:
        return None
    parts, index = [], 0
    while index < len(label):
        for width in (2, 1):  # affricates before their letters
            piece = label[index:index + width]
            if len(piece) == width and piece in _IPA:
                parts.append(_IPA[piece])
                index += width
                break
        else:
            index += 1  # a letter this table lacks: skip it, its neighbours still count
    if not parts:
        return None
    if len(parts) == 1:
        return [(parts[0][0], parts[0][1], 1.0)]
    rest = (1.0 - _DIPHTHONG_FIRST_PART) / (len(parts) - 1)
    return [(v, s, _DIPHTHONG_FIRST_PART if i == 0 else rest) for i, (v, s) in enumerate(parts)]


def detect_alphabet(labels: Sequence[str]) -> str:
    """'arpabet' if the labels are ASCII and some are ARPAbet-only codes (Flite), else 'ipa'."""
    cleaned = [_clean(label).lower() for label in labels]
    if all(label.isascii() for label in cleaned) and any(label in _ARPABET_ONLY for label in cleaned):
        return "arpabet"
    return "ipa"


def _lookup(label: str, alphabet: str) -> list[tuple[str, float, float]] | None:
    """phoneme_visemes without the fallback: None for a label nothing in the tables matches."""
    raw = str(label).strip().lower() if alphabet == "arpabet" else str(label).strip()
    cleaned = _clean(raw)
    if raw.lower() in _PAUSES or (cleaned and cleaned.lower() in _PAUSES):
        return [("sil", 1.0, 1.0)]
    if raw.startswith("(") and raw.endswith(")"):
        return []  # espeak-ng's language switch marker, '(en)': no sound of its own
    if alphabet == "arpabet":
        if cleaned not in _ARPABET_DIPHTHONGS:
            return _segments_for(cleaned, _ARPABET, split=False)
        cleaned = _ARPABET_DIPHTHONGS[cleaned]
    return _segments_for(cleaned, _IPA)


def phoneme_visemes(label: str, alphabet: str = "ipa") -> list[tuple[str, float, float]]:
    """One label -> [(viseme, strength, share of its duration)]; never fails (see the module doc).

    Empty for markers without sound (espeak-ng's language switches).
    """
    parts = _lookup(label, alphabet)
    return [(FALLBACK_VISEME, 1.0, 1.0)] if parts is None else parts


def is_known_label(label: str, alphabet: str = "ipa") -> bool:
    """Whether ``label`` maps through the tables (False: it would take the fallback viseme)."""
    return _lookup(label, alphabet) is not None


def _shape_vector(viseme: str, strength: float) -> np.ndarray:
    vector = np.zeros(len(MOUTH_BLENDSHAPES), np.float64)
    for name, value in VISEME_SHAPES[viseme].items():
        vector[MOUTH_BLENDSHAPES.index(name)] = value * strength
    return vector


_SHAPES = {v: _shape_vector(v, 1.0) for v in VISEMES}
_LOCAL = {name: i for i, name in enumerate(MOUTH_BLENDSHAPES)}


def _check_inputs(phonemes: Sequence[Timing], fps: float, n_frames: int) -> tuple[float, int]:
    fps = check_fps(fps)
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 0:
        raise EmotionError(f"n_frames must be a whole number >= 0, got {n_frames!r}")
    for timing in phonemes:
        if not isinstance(timing, Timing):
            raise EmotionError(f"phonemes must be Timing(label, start, end) items, got {timing!r}")
        if not (math.isfinite(timing.start) and math.isfinite(timing.end)) or timing.end < timing.start:
            raise EmotionError(f"phoneme {timing.label!r} has times {timing.start}..{timing.end}; "
                               "accepted: finite seconds with start <= end")
    return fps, int(n_frames)


def _segments(phonemes: Sequence[Timing], alphabet: str) -> list[tuple[float, float, str, float]]:
    """(start, end, viseme, strength) per sub-segment, with the gaps between phonemes as silence."""
    segments, clock = [], -_FOREVER_S  # silence before the first phoneme ...
    for timing in sorted(phonemes, key=lambda t: t.start):
        if timing.start > clock + MIN_PAUSE_S:
            segments.append((clock, timing.start, "sil", 1.0))
        start, duration = timing.start, timing.end - timing.start
        for viseme, strength, share in phoneme_visemes(timing.label, alphabet):
            segments.append((start, start + duration * share, viseme, strength))
            start += duration * share
        clock = max(clock, timing.end)
    if segments:
        segments.append((clock, _FOREVER_S, "sil", 1.0))  # ... and after the last
    return segments


def mouth_from_phonemes(phonemes: Sequence[Timing], fps: float, n_frames: int, alphabet: str = "auto",
                        audio: np.ndarray | None = None, sample_rate: int | None = None) -> np.ndarray:
    """(n_frames, 52) float32 in [0, 1]: the mouth track for these phoneme timings, zero outside MOUTH_BLENDSHAPES.

    ``alphabet``: 'ipa' (espeak-ng, Piper), 'arpabet' (Flite) or 'auto' (decided from the labels).
    Time beyond the last phoneme, and every gap between phonemes, is silence (closed mouth).
    ``audio`` (mono) and ``sample_rate``: the speech the timings belong to; when given, louder sounds open
    the jaw and lips wider (``loudness_factors``).
    """
    fps, n_frames = _check_inputs(phonemes, fps, n_frames)
    if alphabet not in ALPHABETS:
        raise EmotionError(f"alphabet must be one of {', '.join(ALPHABETS)}, got {alphabet!r}")
    if alphabet == "auto":
        alphabet = detect_alphabet([t.label for t in phonemes])
    track = np.zeros((n_frames, NUM_BLENDSHAPES), np.float32)
    segments = _segments(phonemes, alphabet)
    if n_frames == 0 or not segments:
        return track
    times = (np.arange(n_frames) + 0.5) / fps
    starts = np.array([s[0] for s in segments])[:, None]
    ends = np.array([s[1] for s in segments])[:, None]
    before = np.clip(starts - times[None], 0.0, None)  # the segment is still to come: anticipation
    after = np.clip(times[None] - ends, 0.0, None)  # the segment is over: carry-over
    decay = np.exp(-before / ANTICIPATION_S - after / CARRYOVER_S)  # (segments, frames)
    targets = np.stack([_SHAPES[s[2]] * s[3] for s in segments])  # (segments, channels)
    if audio is not None:
        targets[:, _OPENING] *= loudness_factors(segments, audio, sample_rate)[:, None]
    mouth = np.empty((n_frames, len(MOUTH_BLENDSHAPES)))
    for group, channels in enumerate((_OPENING_GROUP, _SHAPE_GROUP)):
        dominance = np.array([DOMINANCE[s[2]][group] for s in segments])[:, None] * decay
        # The rest pose (zeros) enters the weighted mean only through the denominator.
        mouth[:, channels] = dominance.T @ targets[:, channels] / (dominance.sum(0)[:, None] + REST_DOMINANCE)
    _seal_bilabials(mouth, segments, times, fps)
    track[:, MOUTH_INDICES] = np.clip(mouth, 0.0, 1.0)
    return track


LOUDNESS_RANGE = (0.25, 1.5)  # how much quieter / louder sounds scale their shape
LOUDNESS_REFERENCE_PERCENTILE = 80  # of the vowels' RMS: a vowel this loud gets its nominal shape
_VOWELS = {"aa", "E", "ih", "oh", "ou", "RR"}
_OPENING = [MOUTH_BLENDSHAPES.index(n) for n in ("jawOpen", "mouthLowerDownLeft", "mouthLowerDownRight",
                                                 "mouthUpperUpLeft", "mouthUpperUpRight")]
# Dominance groups: the opening channels (with mouthClose, which cancels jaw opening) and the lip shapes.
_OPENING_GROUP = _OPENING + [MOUTH_BLENDSHAPES.index("mouthClose")]
_SHAPE_GROUP = [i for i in range(len(MOUTH_BLENDSHAPES)) if i not in _OPENING_GROUP]


def loudness_factors(segments: list, audio: np.ndarray, sample_rate: int | None) -> np.ndarray:
    """(segments,) how wide each segment opens, from its loudness (RMS) relative to the utterance's loud vowels.

    Louder speech is produced with a wider jaw opening (Schulman 1989, "Articulatory dynamics of loud and
    normal speech", JASA 85(1): 295-312), and stressed vowels are both louder and more open. The factor
    scales only the opening channels (jawOpen, mouthLowerDown*, mouthUpperUp*): lip shapes (rounding,
    f/v, closure) do not fade on quiet sounds. Linear in RMS, clipped to LOUDNESS_RANGE; 1 for silence
    and bilabials.
    """
    samples = np.asarray(audio, np.float64)
    if samples.ndim != 1 or not np.all(np.isfinite(samples)):
        raise EmotionError(f"audio must be finite mono samples, got shape {samples.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise EmotionError(f"sample_rate must be a whole number of Hz > 0 with audio, got {sample_rate!r}")
    power = np.concatenate([[0.0], np.cumsum(samples * samples)])

    def rms(start: float, end: float) -> float:
        a, b = (int(np.clip(round(t * sample_rate), 0, len(samples))) for t in (start, end))
        return float(np.sqrt((power[b] - power[a]) / (b - a))) if b > a else 0.0

    loudness = np.array([rms(start, end) for start, end, _, _ in segments])
    vowels = [value for value, segment in zip(loudness, segments) if segment[2] in _VOWELS and value > 0]
    factors = np.ones(len(segments))
    if not vowels:
        return factors
    reference = float(np.percentile(vowels, LOUDNESS_REFERENCE_PERCENTILE))
    for index, (value, segment) in enumerate(zip(loudness, segments)):
        if segment[2] not in ("sil", "PP"):
            factors[index] = np.clip(value / reference, *LOUDNESS_RANGE)
    return factors


# What a sealed /p b m/ holds down: the channels that part the lips.
LIP_PARTING_CHANNELS: tuple[str, ...] = ("mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                                         "mouthUpperUpRight", "mouthFunnel", "tongueOut")


def _seal_bilabials(mouth: np.ndarray, segments: list, times: np.ndarray, fps: float) -> None:
    """Close the lips on the frames of each /p b m/ (at least the nearest one, however short it is)."""
    pp = _SHAPES["PP"]
    parting = [_LOCAL[n] for n in LIP_PARTING_CHANNELS]
    pressing = [_LOCAL[n] for n in ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")]
    jaw, close = _LOCAL["jawOpen"], _LOCAL["mouthClose"]
    for start, end, viseme, _ in segments:
        if viseme != "PP":
            continue
        frames = np.flatnonzero((times >= start) & (times < end))
        if len(frames) == 0:  # shorter than a frame: the frame nearest its middle
            nearest = int(np.floor((start + end) / 2 * fps))
            if not 0 <= nearest < len(times):
                continue  # beyond the track
            frames = np.array([nearest])
        mouth[frames[:, None], parting] = np.minimum(mouth[frames[:, None], parting], pp[parting])
        mouth[frames[:, None], pressing] = np.maximum(mouth[frames[:, None], pressing], pp[pressing])
        mouth[frames, close] = mouth[frames, jaw]  # lips sealed over whatever the jaw is doing


def lip_opening(track: np.ndarray) -> np.ndarray:
    """(n_frames,) how far apart the lips are, from a (n_frames, 52) track: a proxy for renderers and tests.

    jawOpen minus what mouthClose cancels, plus the centre lip raisers/lowerers; 0 = lips together.
    """
    track = np.asarray(track, np.float64)
    jaw = np.clip(track[:, BLENDSHAPE_INDEX["jawOpen"]] - track[:, BLENDSHAPE_INDEX["mouthClose"]], 0.0, None)
    parting = (track[:, BLENDSHAPE_INDEX["mouthLowerDownLeft"]] + track[:, BLENDSHAPE_INDEX["mouthLowerDownRight"]]
               + track[:, BLENDSHAPE_INDEX["mouthUpperUpLeft"]] + track[:, BLENDSHAPE_INDEX["mouthUpperUpRight"]]) / 4
    return jaw + parting * (jaw > 0)


__all__ = ["MOUTH_BLENDSHAPES", "VISEMES", "VISEME_SHAPES", "FALLBACK_VISEME", "mouth_from_phonemes",
           "phoneme_visemes", "is_known_label", "detect_alphabet", "lip_opening",
           "loudness_factors"]
