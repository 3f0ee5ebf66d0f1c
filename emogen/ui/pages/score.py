"""Score an uploaded file: an image with a face scorer, a WAV as music, or speech against a neutral take."""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from emogen.errors import EmotionError
from emogen.score.registry import SCORERS, get_scorer
from emogen.ui import MAX_UPLOAD_MB
from emogen.ui.widgets import emotion_input, show_measured

TITLE = "Score a file"
ICON = ":material/analytics:"
IMAGE_TYPES = ("png", "jpg", "jpeg", "webp")
AUDIO_TYPES = ("wav",)
KINDS = ("Image (face)", "Music (WAV)", "Speech (WAV + neutral reference)")


def check_upload(name: str, data: bytes, accepted: tuple[str, ...]) -> str:
    """The upload's suffix if it is an accepted type within the size limit; else a clear EmotionError."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in accepted:
        raise EmotionError(f"{name} is a .{suffix or '(no suffix)'} file; accepted here: "
                           f"{', '.join('.' + t for t in accepted)}")
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise EmotionError(f"{name} is {len(data) / 2**20:.1f} MB; at most {MAX_UPLOAD_MB} MB is accepted")
    if not data:
        raise EmotionError(f"{name} is empty")
    return suffix


def _saved(name: str, data: bytes, folder: str) -> Path:
    path = Path(folder) / f"upload{Path(name).suffix.lower()}"
    path.write_bytes(data)
    return path


def score_upload(kind: str, name: str, data: bytes, scorer: str = "emofaces",
                 reference: tuple[str, bytes] | None = None) -> dict:
    """Scores of one uploaded file, as the generation pages show them. Bad uploads raise EmotionError."""
    with tempfile.TemporaryDirectory(prefix="emogen-upload-") as folder:
        if kind == KINDS[0]:
            check_upload(name, data, IMAGE_TYPES)
            return get_scorer(scorer).score(_saved(name, data, folder)).to_dict()
        check_upload(name, data, AUDIO_TYPES)
        from emogen.audio import read_wav

        audio, rate = read_wav(_saved(name, data, folder))
        if kind == KINDS[1]:
            from emogen.music.scorer import estimate

            return {"overall": estimate(audio, rate).to_dict()}
        if reference is None:
            raise EmotionError("speech is scored against a neutral recording of the same voice: upload one too")
        check_upload(reference[0], reference[1], AUDIO_TYPES)
        reference_path = Path(folder) / "reference.wav"
        reference_path.write_bytes(reference[1])
        reference_audio, reference_rate = read_wav(reference_path)
        return _score_speech(audio, rate, reference_audio, reference_rate)


def _score_speech(audio, rate: int, reference_audio, reference_rate: int) -> dict:
    from emogen.speech.engines.base import Utterance
    from emogen.speech.features import Analysis
    from emogen.speech.scorer import score_speech

    if rate != reference_rate:
        raise EmotionError(f"the speech is at {rate} Hz and the reference at {reference_rate} Hz; give both at one rate")
    estimate, cues = score_speech(Analysis.of(Utterance(audio, rate, ())),
                                  Analysis.of(Utterance(reference_audio, reference_rate, ())))
    return {**estimate.to_dict(), "cues": cues.to_dict()}


def render() -> None:
    st.title("Score a file")
    kind = st.radio("What is it?", KINDS, horizontal=True, key="score-kind")
    types = IMAGE_TYPES if kind == KINDS[0] else AUDIO_TYPES
    upload = st.file_uploader(f"File (at most {MAX_UPLOAD_MB} MB)", type=list(types), key="score-upload")
    scorer, reference = "emofaces", None
    if kind == KINDS[0]:
        scorer = st.selectbox("Scorer", list(SCORERS), key="score-scorer",
                              help="emofaces: the EmoFaces avatar world; fer2013 and blendshape: real photos")
    elif kind == KINDS[2]:
        neutral = st.file_uploader("Neutral recording of the same voice", type=list(AUDIO_TYPES), key="score-reference")
        reference = (neutral.name, neutral.getvalue()) if neutral is not None else None
    with_target = st.checkbox("Compare with a target emotion", key="score-with-target")
    target = emotion_input("score") if with_target else None
    if upload is None:
        st.info("Upload a file to score it.")
        return
    try:
        with st.spinner("Scoring..."):
            scores = score_upload(kind, upload.name, upload.getvalue(), scorer, reference)
    except EmotionError as err:
        st.error(f"Cannot score {upload.name}: {err}")
        return
    if kind == KINDS[0]:
        st.image(upload.getvalue(), width=256)
    else:
        st.audio(upload.getvalue())
    show_measured(scores, target)
