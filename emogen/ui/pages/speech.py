"""Speech page: text + emotion (or an arc over the sentence) -> expressive speech, scored."""
from __future__ import annotations

import streamlit as st

from emogen.batch.modalities import SpeechJob
from emogen.speech.engines import ENGINES
from emogen.ui.pages.common import generate, show_result
from emogen.ui.widgets import emotion_input

TITLE = "Speech"
ICON = ":material/record_voice_over:"
DEFAULT_TEXT = "I never thought we would see the sea again."


def render() -> None:
    st.title("Speech")
    text = st.text_area("Text", DEFAULT_TEXT, key="speech-text", height=80)
    spec = emotion_input("speech", allow_arc=True)
    engines = [name for name, (module, _, _) in ENGINES.items() if module is not None]
    engine = st.selectbox("Engine", engines, key="speech-engine")
    if st.button("Speak", type="primary", disabled=spec is None, key="speech-generate"):
        generate("speech", "speech", SpeechJob(text=text, emotion=spec, engine=engine), spec, "Speaking...")
    show_result("speech", "audio")
