"""Emotion input and result widgets shared by every page.

Every input widget returns an emotion *spec string* (the language of the CLI and of job files), so what a
creator picks in the UI can be pasted into `emogen image --emotion ...` or a batch file unchanged.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from emogen.emotion import Emotion, EmotionArc
from emogen.emotion.categories import CATEGORY_SETS, prototype
from emogen.errors import EmotionError

PLANE_STEP = 0.05  # resolution of a click on the valence-arousal plane
PLANE_SIZE = 320
MIXTURE_CATEGORIES = CATEGORY_SETS["mead8"].categories  # Ekman-7 plus contempt: what every generator knows
LABELLED_CATEGORIES = tuple(c for c in MIXTURE_CATEGORIES if c != "neutral")
INPUT_MODES = ("Valence-arousal plane", "Category mixture", "Written spec")
ARC_MODE = "Arc over time"
DEFAULT_ARC = pd.DataFrame({"time (s)": [0.0, 2.0], "emotion": ["neutral", "joy"]})


def _plane_base() -> alt.LayerChart:
    """The plane's fixed layers: axes from -1 to 1 and each category's prototype, labelled."""
    axis = alt.Scale(domain=[-1, 1])
    points = pd.DataFrame([{"category": c, "valence": float(prototype(c)[0]), "arousal": float(prototype(c)[1])}
                           for c in LABELLED_CATEGORIES])
    labels = alt.Chart(points).mark_text(color="#666", fontSize=11, dy=-8).encode(
        x=alt.X("valence:Q", scale=axis), y=alt.Y("arousal:Q", scale=axis), text="category:N")
    dots = alt.Chart(points).mark_circle(color="#999", size=25).encode(x="valence:Q", y="arousal:Q")
    return dots + labels


def va_plane(key: str) -> tuple[float, float]:
    """A clickable valence-arousal plane with two sliders kept in step with it; returns (valence, arousal).

    A click picks the nearest point of a fine grid (Streamlit reports selections of chart marks, not raw
    coordinates, so the grid's invisible points are what a click lands on).
    """
    valence_key, arousal_key, plane_key, applied_key = (f"{key}-valence", f"{key}-arousal", f"{key}-plane",
                                                        f"{key}-applied")
    st.session_state.setdefault(valence_key, 0.6)
    st.session_state.setdefault(arousal_key, 0.4)
    clicked = _selected_point(st.session_state.get(plane_key))
    if clicked is not None and clicked != st.session_state.get(applied_key):
        # Only a new click moves the sliders; otherwise the last click would override every slider move.
        st.session_state[applied_key] = clicked
        st.session_state[valence_key], st.session_state[arousal_key] = clicked
    valence, arousal = st.session_state[valence_key], st.session_state[arousal_key]

    ticks = np.round(np.arange(-1, 1 + 1e-9, PLANE_STEP), 2)
    grid = pd.DataFrame([(v, a) for v in ticks for a in ticks], columns=["valence", "arousal"])
    pick = alt.selection_point(name="va", fields=["valence", "arousal"], on="click", nearest=True, empty=False)
    axis = alt.Scale(domain=[-1, 1])
    clickable = alt.Chart(grid).mark_square(size=30, opacity=0.001).encode(
        x=alt.X("valence:Q", scale=axis, title="valence"), y=alt.Y("arousal:Q", scale=axis, title="arousal"),
        tooltip=["valence", "arousal"]).add_params(pick)
    marker = alt.Chart(pd.DataFrame([{"valence": valence, "arousal": arousal}])).mark_point(
        shape="cross", size=400, color="#d62728", strokeWidth=3, filled=True).encode(x="valence:Q", y="arousal:Q")
    chart = (clickable + _plane_base() + marker).properties(width=PLANE_SIZE, height=PLANE_SIZE)
    st.caption("Click the plane, or use the sliders.")
    st.altair_chart(chart, on_select="rerun", selection_mode="va", key=plane_key, width="content")
    left, right = st.columns(2)
    left.slider("Valence", -1.0, 1.0, step=0.05, key=valence_key)
    right.slider("Arousal", -1.0, 1.0, step=0.05, key=arousal_key)
    return float(st.session_state[valence_key]), float(st.session_state[arousal_key])


def _selected_point(state) -> tuple[float, float] | None:
    try:
        points = state["selection"]["va"]
    except (KeyError, TypeError):
        return None
    if not points:
        return None
    return float(points[0]["valence"]), float(points[0]["arousal"])


def mixture_spec(key: str) -> str | None:
    """Categories with weights and one intensity -> '0.600 joy:0.80 + 0.400 surprise:0.80'."""
    chosen = st.multiselect("Categories", MIXTURE_CATEGORIES, default=["joy"], key=f"{key}-categories")
    if not chosen:
        st.warning("Pick at least one category.")
        return None
    weights = {name: st.slider(f"Weight of {name}", 0.0, 1.0, 1.0, 0.05, key=f"{key}-weight-{name}")
               for name in chosen}
    intensity = st.slider("Intensity", 0.0, 1.0, 0.8, 0.05, key=f"{key}-intensity")
    total = sum(weights.values())
    if total <= 0:
        st.warning("At least one weight must be above 0.")
        return None
    return " + ".join(f"{weight / total:.3f} {name}:{intensity:.2f}" for name, weight in weights.items() if weight > 0)


def arc_spec(key: str) -> str | None:
    """An editable keyframe table -> 'neutral@0s -> joy@2s', previewed as valence/arousal curves."""
    st.caption("One row per keyframe: time in seconds and any emotion spec ('joy', 'v=0.5,a=-0.2', ...).")
    table = st.data_editor(DEFAULT_ARC, num_rows="dynamic", key=f"{key}-arc", width="stretch",
                           column_config={"time (s)": st.column_config.NumberColumn(min_value=0.0, step=0.1),
                                          "emotion": st.column_config.TextColumn(required=True)})
    rows = [(float(t), str(e).strip()) for t, e in zip(table["time (s)"], table["emotion"])
            if pd.notna(t) and isinstance(e, str) and e.strip()]
    if not rows:
        st.warning("The arc needs at least one keyframe.")
        return None
    spec = " -> ".join(f"{emotion}@{time:g}s" for time, emotion in sorted(rows))
    arc = _parsed(EmotionArc.parse, spec)
    if arc is None:
        return None
    times = np.linspace(0, max(arc.duration, 1e-3), 50)
    curve = pd.DataFrame([{"time (s)": t, "valence": e.valence, "arousal": e.arousal}
                          for t, e in zip(times, (arc.at(float(t)) for t in times))])
    st.line_chart(curve, x="time (s)", y=["valence", "arousal"], height=160)
    return spec


def emotion_input(key: str, allow_arc: bool = False) -> str | None:
    """The emotion picker of a page: plane, mixture, written spec (and an arc where the medium has time).

    Returns a spec that parses (shown under the picker), or None after showing what is wrong.
    """
    modes = INPUT_MODES + ((ARC_MODE,) if allow_arc else ())
    mode = st.radio("Emotion", modes, horizontal=True, key=f"{key}-mode")
    if mode == INPUT_MODES[0]:
        valence, arousal = va_plane(key)
        spec = f"v={valence:.2f},a={arousal:.2f}"
    elif mode == INPUT_MODES[1]:
        spec = mixture_spec(key)
    elif mode == ARC_MODE:
        return arc_spec(key)
    else:
        spec = st.text_input("Emotion spec", "joy:0.8", key=f"{key}-spec",
                             help="'joy', 'joy:0.8', '0.6 joy + 0.4 surprise', 'v=0.7,a=0.4'"
                                  + (", or an arc 'joy@0 -> sadness@3'" if allow_arc else ""))
        if allow_arc and "@" in spec:
            return spec if _parsed(EmotionArc.parse, spec) is not None else None
    if spec is None or _parsed(Emotion.parse, spec) is None:
        return None
    st.caption(f"Spec: `{spec}`")
    return spec


def _parsed(parse, spec: str):
    try:
        return parse(spec)
    except EmotionError as err:
        st.error(f"Bad emotion: {err}")
        return None


def measured_va(scores: dict) -> tuple[float, float] | None:
    """The measured (valence, arousal) of a scores record of any modality (music reports an 'overall')."""
    source = scores.get("overall", scores)
    if "valence" in source and "arousal" in source:
        return float(source["valence"]), float(source["arousal"])
    return None


def show_measured(scores: dict, target_spec: str | None) -> None:
    """What the scorer measured: category probabilities and the target vs measured point on the plane."""
    st.subheader("Measured emotion")
    measured = measured_va(scores)
    target = _target_point(target_spec)
    left, right = st.columns(2)
    with left:
        if scores.get("probs"):
            probs = pd.DataFrame({"category": list(scores["probs"]), "probability": list(scores["probs"].values())})
            st.altair_chart(alt.Chart(probs).mark_bar().encode(
                x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1])), y=alt.Y("category:N", sort="-x")),
                width="stretch")
            st.metric("Top category", scores.get("top1", "?"), help=f"scorer: {scores.get('scorer', '?')}")
        elif "overall" in scores:
            st.metric("Quadrant", scores["overall"].get("quadrant", "?"))
        for note in scores.get("notes", []):
            st.warning(note)
    with right:
        if measured is not None:
            rows = [{"point": "measured", "valence": measured[0], "arousal": measured[1]}]
            if target is not None:
                rows.append({"point": "target", "valence": target[0], "arousal": target[1]})
            points = alt.Chart(pd.DataFrame(rows)).mark_point(size=250, filled=True).encode(
                x="valence:Q", y="arousal:Q", shape="point:N",
                color=alt.Color("point:N", scale=alt.Scale(domain=["target", "measured"],
                                                          range=["#d62728", "#1f77b4"])))
            st.altair_chart((_plane_base() + points).properties(width=PLANE_SIZE, height=PLANE_SIZE),
                            width="content")
            text = f"measured v={measured[0]:+.2f}, a={measured[1]:+.2f}"
            if target is not None:
                text += f"; target v={target[0]:+.2f}, a={target[1]:+.2f}"
            st.caption(text)


def _target_point(spec: str | None) -> tuple[float, float] | None:
    """The target's point; an arc has no single one, so none is drawn."""
    if not spec:
        return None
    try:
        arc = EmotionArc.parse(spec)
    except EmotionError:
        return None
    if len(arc.keyframes) != 1:
        return None
    emotion = arc.keyframes[0].emotion
    return emotion.valence, emotion.arousal
