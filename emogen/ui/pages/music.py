"""Music page: an emotion or an arc -> a soundtrack from the embedded composer, scored."""
from __future__ import annotations

import streamlit as st

from emogen.batch.modalities import MusicJob
from emogen.ui.pages.common import generate, show_result
from emogen.ui.widgets import emotion_input

TITLE = "Music"
ICON = ":material/music_note:"


def render() -> None:
    st.title("Music")
    spec = emotion_input("music", allow_arc=True)
    seconds = st.slider("Length (s)", 4, 60, 12, key="music-seconds")
    seed = st.number_input("Seed", min_value=0, value=0, step=1, key="music-seed")
    if st.button("Compose", type="primary", disabled=spec is None, key="music-generate"):
        generate("music", "music", MusicJob(emotion=spec, seconds=float(seconds), seed=int(seed)), spec, "Composing...")
    show_result("music", "audio")
