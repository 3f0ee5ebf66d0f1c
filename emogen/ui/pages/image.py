"""Image page: prompt + emotion -> the shipped (or a chosen) diffusion model, best of N by the scorer."""
from __future__ import annotations

import streamlit as st

from emogen.batch.modalities import ImageJob
from emogen.ui.pages.common import generate, show_result
from emogen.ui.widgets import emotion_input

TITLE = "Image"
ICON = ":material/image:"
DEFAULT_PROMPT = "a cartoon portrait of a person with curly auburn hair, light skin and round glasses, wearing a teal shirt"


def render() -> None:
    st.title("Image")
    prompt = st.text_area("Prompt", DEFAULT_PROMPT, key="image-prompt", height=80)
    spec = emotion_input("image")
    with st.expander("Sampling"):
        seed = st.number_input("Seed", min_value=0, value=0, step=1, key="image-seed")
        best_of = st.slider("Best of N (the scorer keeps the closest)", 1, 8, 1, key="image-best-of")
        steps = st.number_input("Steps (0: the model's recommended)", min_value=0, value=0, step=1, key="image-steps")
        model = st.text_input("Model (folder or hub id; empty: the shipped one)", "", key="image-model")
    if st.button("Generate", type="primary", disabled=spec is None, key="image-generate"):
        job = ImageJob(prompt=prompt, emotion=spec, seed=int(seed), steps=int(steps) or None, best_of=int(best_of),
                       model=model.strip() or None)
        generate("image", "image", job, spec, "Denoising...", steps_reported=True)
    show_result("image", "image")
