"""Emotional speech corpora in their published layouts (ESD, RAVDESS, CREMA-D) -> one list of clips.

Each reader takes the folder the corpus was unpacked to and returns ``SpeechClip``s (wav path, text,
emotion spec, speaker). Layouts and labels, as published:

- ESD (Zhou et al. 2021, ICASSP; github.com/HLTSingapore/Emotional-Speech-Data):
  ``<root>/[Emotion Speech Dataset/]<speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<6 digits>.wav``
  with the transcript ``<speaker>/<speaker>.txt``: ``<speaker>_<6 digits> TAB text TAB emotion`` per line.
  Speakers 0001-0010 speak Mandarin, 0011-0020 English. Emotions: Neutral, Angry, Happy, Sad, Surprise
  (no intensity labels).
- RAVDESS (Livingstone & Russo 2018, PLoS ONE 13(5): e0196391), audio-only speech:
  ``<root>/[Audio_Speech_Actors_01-24/]Actor_<NN>/03-01-<emotion>-<intensity>-<statement>-<repetition>-<NN>.wav``:
  modality 03 = audio only, vocal channel 01 = speech (02 = song, skipped), emotion 01 neutral,
  02 calm, 03 happy, 04 sad, 05 angry, 06 fearful, 07 disgust, 08 surprised; intensity 01 normal,
  02 strong (none for neutral); statement 01 "Kids are talking by the door", 02 "Dogs are sitting by
  the door".
- CREMA-D (Cao et al. 2014, IEEE Trans. Affective Computing 5(4)):
  ``<root>/[AudioWAV/]<actor 1001-1091>_<sentence>_<emotion>_<level>.wav``: 12 sentence codes
  (``CREMAD_SENTENCES``), emotions ANG DIS FEA HAP NEU SAD, levels LO MD HI XX (XX: unspecified).

Intensity labels become the spec's intensity: RAVDESS normal 0.5, strong 1.0; CREMA-D low 0.33,
medium 0.66, high 1.0, unspecified 0.66; ESD (unlabelled) 1.0. A file that does not fit its layout
raises an EmotionError naming the file and what was expected, rather than being skipped silently.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emogen.errors import EmotionError

LAYOUTS = ("esd", "ravdess", "cremad")


@dataclass(frozen=True)
class SpeechClip:
    path: Path
    text: str
    emotion: str  # an emogen emotion spec, e.g. "anger:0.5"
    speaker: str  # namespaced by corpus: "esd-0011", "ravdess-01", "cremad-1001"
    corpus: str


# ----- ESD ----------------------------------------------------------------------------------------------
ESD_EMOTIONS = {"Neutral": "neutral", "Angry": "anger", "Happy": "joy", "Sad": "sadness", "Surprise": "surprise"}
ESD_SPLITS = ("train", "evaluation", "test")
_ESD_SPEAKER = re.compile(r"^\d{4}$")
_ESD_FILE = re.compile(r"^(\d{4})_(\d{6})\.wav$")
_ESD_ENCODINGS = ("utf-8-sig", "utf-16", "gb18030")  # the Mandarin transcripts are not all UTF-8


def read_esd(root: str | Path, splits: tuple[str, ...] | None = None) -> list[SpeechClip]:
    """ESD clips under ``root``; ``splits`` keeps only those split folders (a flat layout has none)."""
    root = _existing_folder(root, "ESD")
    if (root / "Emotion Speech Dataset").is_dir():
        root = root / "Emotion Speech Dataset"
    speakers = sorted(p for p in root.iterdir() if p.is_dir() and _ESD_SPEAKER.match(p.name))
    if not speakers:
        raise EmotionError(f"no ESD speaker folders (0001 ... 0020) in {root}; expected "
                           "<root>/<speaker>/<Emotion>/[train|evaluation|test/]<speaker>_<number>.wav")
    clips = []
    for speaker_dir in speakers:
        transcript = _esd_transcript(speaker_dir)
        for emotion_dir in sorted(p for p in speaker_dir.iterdir() if p.is_dir()):
            if emotion_dir.name not in ESD_EMOTIONS:
                raise EmotionError(f"{emotion_dir} is not an ESD emotion folder; accepted: {', '.join(ESD_EMOTIONS)}")
            for wav in sorted(emotion_dir.rglob("*.wav")):
                split = wav.parent.name if wav.parent != emotion_dir else None
                if split is not None and split not in ESD_SPLITS:
                    raise EmotionError(f"{wav} is in folder {split!r}; ESD has the split folders {', '.join(ESD_SPLITS)}")
                if splits is not None and split not in splits:
                    continue
                match = _ESD_FILE.match(wav.name)
                if not match or match.group(1) != speaker_dir.name:
                    raise EmotionError(f"{wav} is not named {speaker_dir.name}_<6 digits>.wav as ESD files are")
                key = wav.stem
                if key not in transcript:
                    raise EmotionError(f"{wav} has no line {key!r} in its transcript {speaker_dir / (speaker_dir.name + '.txt')}")
                clips.append(SpeechClip(wav, transcript[key], ESD_EMOTIONS[emotion_dir.name],
                                        f"esd-{speaker_dir.name}", "esd"))
    return _nonempty(clips, "ESD", root)


def _esd_transcript(speaker_dir: Path) -> dict[str, str]:
    path = speaker_dir / f"{speaker_dir.name}.txt"
    if not path.is_file():
        raise EmotionError(f"ESD speaker folder {speaker_dir} has no transcript {path.name}")
    raw = path.read_bytes()
    for encoding in _ESD_ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise EmotionError(f"{path} is not text in {', '.join(_ESD_ENCODINGS)}")
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r").split("\t")
        if len(fields) < 2 or not _ESD_FILE.match(fields[0].strip() + ".wav") or not fields[1].strip():
            raise EmotionError(f"{path} line {number} is not '<utterance id> TAB text TAB emotion': {line[:60]!r}")
        lines[fields[0].strip()] = fields[1].strip()
    return lines


# ----- RAVDESS ------------------------------------------------------------------------------------------
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "joy", "04": "sadness", "05": "anger",
                    "06": "fear", "07": "disgust", "08": "surprise"}
RAVDESS_INTENSITY = {"01": 0.5, "02": 1.0}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door.", "02": "Dogs are sitting by the door."}
_RAVDESS_ACTOR = re.compile(r"^Actor_(\d{2})$")
_RAVDESS_FILE = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})\.wav$")


def read_ravdess(root: str | Path) -> list[SpeechClip]:
    """RAVDESS audio-only speech under ``root`` (songs, vocal channel 02, are skipped)."""
    root = _existing_folder(root, "RAVDESS")
    actors = sorted(p for p in root.rglob("Actor_*") if p.is_dir() and _RAVDESS_ACTOR.match(p.name))
    if not actors:
        raise EmotionError(f"no RAVDESS Actor_NN folders under {root}; expected "
                           "<root>/Actor_NN/03-01-<emotion>-<intensity>-<statement>-<repetition>-NN.wav")
    clips = []
    for actor_dir in actors:
        actor = _RAVDESS_ACTOR.match(actor_dir.name).group(1)
        for wav in sorted(actor_dir.glob("*.wav")):
            match = _RAVDESS_FILE.match(wav.name)
            if not match:
                raise EmotionError(f"{wav} is not a RAVDESS name (7 two-digit fields, e.g. 03-01-05-01-02-01-{actor}.wav)")
            modality, channel, emotion, intensity, statement, repetition, file_actor = match.groups()
            problems = [
                modality != "03" and f"modality {modality} (audio-only speech is 03)",
                channel not in ("01", "02") and f"vocal channel {channel} (01 speech, 02 song)",
                emotion not in RAVDESS_EMOTIONS and f"emotion {emotion} (01-08)",
                intensity not in RAVDESS_INTENSITY and f"intensity {intensity} (01 normal, 02 strong)",
                emotion == "01" and intensity == "02" and "strong neutral (neutral has only intensity 01)",
                statement not in RAVDESS_STATEMENTS and f"statement {statement} (01, 02)",
                repetition not in ("01", "02") and f"repetition {repetition} (01, 02)",
                file_actor != actor and f"actor {file_actor} in the folder of actor {actor}",
            ]
            problems = [p for p in problems if p]
            if problems:
                raise EmotionError(f"{wav} does not fit RAVDESS naming: {'; '.join(problems)}")
            if channel == "02":
                continue
            spec = "neutral" if emotion == "01" else f"{RAVDESS_EMOTIONS[emotion]}:{RAVDESS_INTENSITY[intensity]}"
            clips.append(SpeechClip(wav, RAVDESS_STATEMENTS[statement], spec, f"ravdess-{actor}", "ravdess"))
    return _nonempty(clips, "RAVDESS speech", root)


# ----- CREMA-D ------------------------------------------------------------------------------------------
CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock.",
    "TIE": "That is exactly what happened.",
    "IOM": "I'm on my way to the meeting.",
    "IWW": "I wonder what this is about.",
    "TAI": "The airplane is almost full.",
    "MTI": "Maybe tomorrow it will be cold.",
    "IWL": "I would like a new alarm clock.",
    "ITH": "I think I have a doctor's appointment.",
    "DFA": "Don't forget a jacket.",
    "ITS": "I think I've seen this before.",
    "TSI": "The surface is slick.",
    "WSI": "We'll stop in a couple of minutes.",
}
CREMAD_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "joy", "NEU": "neutral", "SAD": "sadness"}
CREMAD_LEVELS = {"LO": 0.33, "MD": 0.66, "HI": 1.0, "XX": 0.66}
_CREMAD_FILE = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$")


def read_cremad(root: str | Path) -> list[SpeechClip]:
    """CREMA-D clips in ``root`` or ``root/AudioWAV``."""
    root = _existing_folder(root, "CREMA-D")
    folder = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    clips = []
    for wav in sorted(folder.glob("*.wav")):
        match = _CREMAD_FILE.match(wav.name)
        if not match:
            raise EmotionError(f"{wav} is not a CREMA-D name (<actor>_<sentence>_<emotion>_<level>.wav, e.g. 1001_DFA_ANG_XX.wav)")
        actor, sentence, emotion, level = match.groups()
        problems = [
            not 1001 <= int(actor) <= 1091 and f"actor {actor} (1001-1091)",
            sentence not in CREMAD_SENTENCES and f"sentence {sentence} ({', '.join(CREMAD_SENTENCES)})",
            emotion not in CREMAD_EMOTIONS and f"emotion {emotion} ({', '.join(CREMAD_EMOTIONS)})",
            level not in CREMAD_LEVELS and f"level {level} ({', '.join(CREMAD_LEVELS)})",
        ]
        problems = [p for p in problems if p]
        if problems:
            raise EmotionError(f"{wav} does not fit CREMA-D naming: {'; '.join(problems)}")
        spec = "neutral" if emotion == "NEU" else f"{CREMAD_EMOTIONS[emotion]}:{CREMAD_LEVELS[level]}"
        clips.append(SpeechClip(wav, CREMAD_SENTENCES[sentence], spec, f"cremad-{actor}", "cremad"))
    return _nonempty(clips, "CREMA-D", folder)


READERS: dict[str, Callable[[Path], list[SpeechClip]]] = {"esd": read_esd, "ravdess": read_ravdess, "cremad": read_cremad}


def read_corpus(layout: str, root: str | Path) -> list[SpeechClip]:
    """The clips of the corpus at ``root`` in ``layout`` (esd | ravdess | cremad)."""
    key = str(layout).strip().lower().replace("-", "").replace("_", "")
    if key not in READERS:
        raise EmotionError(f"unknown speech corpus layout {layout!r}; accepted: {', '.join(LAYOUTS)}")
    return READERS[key](root)


def _existing_folder(root: str | Path, name: str) -> Path:
    path = Path(root)
    if not path.is_dir():
        raise EmotionError(f"{name} folder {str(path)!r} does not exist or is not a folder")
    return path


def _nonempty(clips: list[SpeechClip], name: str, root: Path) -> list[SpeechClip]:
    if not clips:
        raise EmotionError(f"found no {name} clips in {root}")
    return clips
