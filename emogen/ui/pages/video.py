"""Video page: prompt + an emotion arc over the clip (+ an optional still to animate) -> a scored clip."""
from __future__ import annotations

import streamlit as st

from emogen.batch.modalities import VideoJob
from emogen.errors import EmotionError
from emogen.ui.generate import save_upload
from emogen.ui.pages.common import generate, show_result
from emogen.ui.pages.image import DEFAULT_PROMPT
from emogen.ui.widgets import emotion_input

TITLE = "Video"
ICON = ":material/movie:"


def render() -> None:
    st.title("Video")
    prompt = st.text_area("Prompt", DEFAULT_PROMPT, key="video-prompt", height=80)
    spec = emotion_input("video", allow_arc=True)
    left, right = st.columns(2)
    frames = left.slider("Frames", 2, 32, 16, key="video-frames")
    fps = right.slider("Frames per second", 1, 30, 8, key="video-fps")
    st.caption(f"The clip lasts {(frames - 1) / fps:.2f} s from its first frame to its last; an arc must end by then.")
    still = st.file_uploader("Animate a still (optional)", type=["png", "jpg", "jpeg", "webp"], key="video-still")
    with st.expander("Sampling"):
        seed = st.number_input("Seed", min_value=0, value=0, step=1, key="video-seed")
        steps = st.number_input("Steps (0: the model's recommended)", min_value=0, value=0, step=1, key="video-steps")
        strength = st.slider("Strength (with a still: how far from it)", 0.0, 1.0, 0.6, 0.05, key="video-strength")
        shared = st.number_input("Noise shared by all frames, 0..1 (-1: the model's recommended)", min_value=-1.0,
                                 max_value=1.0, value=-1.0, step=0.001, format="%.3f", key="video-noise-correlation",
                                 help="Higher is steadier (less flicker) but draws less motion such as blinks.")
        scale = st.number_input("Emotion scale (-1: the model's recommended)", min_value=-1.0, max_value=3.0,
                                value=-1.0, step=0.1, key="video-emotion-scale",
                                help="0: no emotion, 1: as trained, above 1: a stronger expression swing.")
    if st.button("Generate", type="primary", disabled=spec is None, key="video-generate"):
        image = None
        if still is not None:
            try:
                image = str(save_upload(still.name, still.getvalue()))
            except EmotionError as err:
                st.error(f"Cannot use {still.name}: {err}")
                return
        job = VideoJob(prompt=prompt, emotion=spec, frames=int(frames), fps=float(fps), image=image,
                       strength=float(strength), seed=int(seed), steps=int(steps) or None,
                       noise_correlation=None if shared < 0 else float(shared),
                       emotion_scale=None if scale < 0 else float(scale))
        generate("video", "video", job, spec, "Denoising...", steps_reported=True)
    show_result("video", "video")
