"""Talking-head page: a portrait (the EmoFaces avatar or an uploaded photo) speaks a text with an emotion."""
from __future__ import annotations

import streamlit as st

from emogen.batch.modalities import TalkJob
from emogen.errors import EmotionError
from emogen.ui.generate import save_upload
from emogen.ui.pages.common import generate, show_result
from emogen.ui.pages.speech import DEFAULT_TEXT
from emogen.ui.widgets import emotion_input

TITLE = "Talking head"
ICON = ":material/face:"
PORTRAITS = ("EmoFaces avatar", "Upload a photo")


def render() -> None:
    st.title("Talking head")
    text = st.text_area("Text", DEFAULT_TEXT, key="talk-text", height=80)
    spec = emotion_input("talk", allow_arc=True)
    kind = st.radio("Portrait", PORTRAITS, horizontal=True, key="talk-portrait")
    portrait, photo = "avatar", None
    if kind == PORTRAITS[0]:
        portrait = f"avatar:{st.number_input('Avatar identity (seed)', 0, 10_000, 0, key='talk-avatar')}"
    else:
        photo = st.file_uploader("Portrait photo (one face, at least 64 px)", type=["png", "jpg", "jpeg", "webp"],
                                 key="talk-photo")
    size = st.select_slider("Size (px)", [128, 256, 512], 256, key="talk-size")
    ready = spec is not None and (kind == PORTRAITS[0] or photo is not None)
    if st.button("Animate", type="primary", disabled=not ready, key="talk-generate"):
        if photo is not None:
            try:
                portrait = str(save_upload(photo.name, photo.getvalue()))
            except EmotionError as err:
                st.error(f"Cannot use {photo.name}: {err}")
                return
        generate("talk", "talk", TalkJob(text=text, emotion=spec, portrait=portrait, size=int(size)), spec,
                 "Speaking, animating and measuring...")
    show_result("talk", "video")
