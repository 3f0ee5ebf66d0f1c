"""What every generation page does after the Generate button: keep, show and offer the result."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import streamlit as st

from emogen.errors import EmotionError
from emogen.ui.generate import Generated, run_job
from emogen.ui.widgets import show_measured

IMAGE_DISPLAY_WIDTH = 256  # the shipped models make 64 px images: shown 4x, pixelated rather than blurred


def generate(page: str, modality: str, params, spec: str, progress_text: str, steps_reported: bool = False) -> None:
    """Run the job with a progress indication; keep the result (or the error) in the session for reruns."""
    bar = st.progress(0.0, text=progress_text)
    progress = (lambda step, total: bar.progress(step / total, text=f"{progress_text} step {step}/{total}")) \
        if steps_reported else None
    try:
        with st.spinner(progress_text):
            generated = run_job(modality, params, progress=progress)
    except EmotionError as err:
        st.session_state.pop(f"{page}-result", None)
        st.session_state[f"{page}-error"] = str(err)
    else:
        st.session_state.pop(f"{page}-error", None)
        st.session_state[f"{page}-result"] = (generated, spec)
    finally:
        bar.empty()


def show_result(page: str, media: str) -> None:
    """The media, its download, timings and measured emotion, from the session (so they survive reruns)."""
    if f"{page}-error" in st.session_state:
        st.error(f"Could not generate: {st.session_state[f'{page}-error']}")
        return
    if f"{page}-result" not in st.session_state:
        return
    generated, spec = st.session_state[f"{page}-result"]
    st.divider()
    show_media(generated.path, media)
    st.caption(f"{generated.path.name}: made in {generated.seconds:.2f} s (saved under {generated.path.parent})")
    download(generated.path)
    # What the generator had to decide for the user (which of several faces, a softer brow raise, an arc
    # cut at the end of the speech): said where the result is shown, as `emogen talk` prints it.
    for warning in generated.result.details.get("warnings", ()):
        st.warning(warning)
    show_measured(generated.scores, spec)
    if generated.result.evaluation is not None:
        evaluation = generated.result.evaluation
        verdict = "matches" if evaluation.hit else "does not match"
        st.info(f"Measured **{evaluation.measured_label}**, which {verdict} the requested "
                f"**{evaluation.requested_label}**.")


def show_media(path: Path, media: str) -> None:
    if media == "image":
        st.image(str(path), width=IMAGE_DISPLAY_WIDTH)
    elif media == "audio":
        st.audio(str(path))
    elif media == "video":
        st.video(str(path))
    else:
        raise ValueError(f"unknown media kind {media!r}")


def download(path: Path, label: str | None = None) -> None:
    st.download_button(label or f"Download {path.suffix[1:].upper()}", path.read_bytes(), file_name=path.name,
                       mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                       key=f"download-{path.name}")


def generated(page: str) -> Generated | None:
    """The page's last result, if any (tests and other pages read it)."""
    value = st.session_state.get(f"{page}-result")
    return value[0] if value else None
