"""Batch gallery: browse what `emogen batch` made (its manifest.jsonl), with scores and the summary report."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from emogen.batch.manifest import MANIFEST, read_manifest
from emogen.batch.report import SUMMARY
from emogen.ui.pages.common import download, show_media
from emogen.ui.widgets import measured_va

TITLE = "Batch gallery"
ICON = ":material/photo_library:"
MEDIA_BY_SUFFIX = {".png": "image", ".jpg": "image", ".wav": "audio", ".mp4": "video", ".gif": "image"}
PAGE_SIZE = 24
COLUMNS = 4


def render() -> None:
    st.title("Batch gallery")
    st.caption("A folder written by `emogen batch JOBS --out DIR`.")
    folder = Path(st.text_input("Batch output folder", "out/batch", key="gallery-folder"))
    if not (folder / MANIFEST).is_file():
        st.info(f"No {MANIFEST} in {folder}: run `emogen batch jobs.yaml --out {folder}` first, or pick another folder.")
        return
    records = list(read_manifest(folder).values())
    if not records:
        st.info(f"{folder / MANIFEST} lists no finished job yet.")
        return
    table = pd.DataFrame([_row(record) for record in records])
    modalities = sorted(table["modality"].unique())
    chosen = st.multiselect("Modalities", modalities, default=modalities, key="gallery-modalities")
    table = table[table["modality"].isin(chosen)]
    scored = table["hit"].dropna()
    st.metric("Jobs shown", len(table), help=f"{len(records)} finished in all")
    if len(scored):
        st.metric("Control accuracy (single-target jobs)", f"{scored.astype(float).mean():.2f}",
                  help=f"over {len(scored)} scored jobs")
    st.dataframe(table.drop(columns=["output"]), width="stretch", hide_index=True)

    page = st.number_input("Page", min_value=1, max_value=max(1, -(-len(table) // PAGE_SIZE)), value=1,
                           key="gallery-page")
    shown = table.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    columns = st.columns(COLUMNS)
    for position, (_, row) in enumerate(shown.iterrows()):
        with columns[position % COLUMNS]:
            path = folder / row["output"]
            if not path.is_file():
                st.warning(f"{row['id']}: {path.name} is missing")
                continue
            show_media(path, MEDIA_BY_SUFFIX.get(path.suffix.lower(), "image"))
            st.caption(f"**{row['id']}** `{row['emotion']}` -> {row['measured']}")
            download(path)
    summary = folder / SUMMARY
    if summary.is_file():
        with st.expander("Summary report"):
            st.markdown(summary.read_text(encoding="utf-8").split("![")[0])
            for plot in sorted(folder.glob("summary_*.png")):
                st.image(str(plot))


def _row(record: dict) -> dict:
    evaluation = record.get("evaluation") or {}
    va = measured_va(record.get("scores") or {})
    return {
        "id": record["id"], "modality": record["modality"], "emotion": record["params"].get("emotion", ""),
        "requested": evaluation.get("requested_label"), "measured": evaluation.get("measured_label", "-"),
        "hit": evaluation.get("hit"), "valence": None if va is None else round(va[0], 3),
        "arousal": None if va is None else round(va[1], 3), "model s": record.get("seconds", {}).get("model"),
        "output": record["output"],
    }
