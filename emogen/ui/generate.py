"""Running one generation from the UI: the same job types and runners as `emogen batch`.

So a result made in the UI is exactly what a batch job with the same fields makes, and the UI gets the
batch runners' model caching and scoring for free. Every result lands in the UI's output folder
(``$EMOGEN_UI_OUT``, default ``out/ui``) under a new name, with a sidecar JSON: nothing is overwritten.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import streamlit as st

from emogen.batch.modalities import MODALITIES, FieldError
from emogen.batch.runners import JobResult
from emogen.errors import EmotionError
from emogen.io import atomic_output, write_json_atomic
from emogen.ui import UI_OUT_ENV

DEFAULT_UI_OUT = Path("out") / "ui"


def output_root() -> Path:
    return Path(os.environ.get(UI_OUT_ENV) or DEFAULT_UI_OUT)


@dataclass(frozen=True)
class Generated:
    path: Path
    result: JobResult
    seconds: float  # wall time of the whole request, model loading included

    @property
    def scores(self) -> dict:
        return self.result.scores


@st.cache_resource(show_spinner="Loading models...")
def _runner(modality: str):
    """One runner per modality per server process: models load once, on the first request."""
    return MODALITIES[modality].make_runner("cpu")


def check_job(params) -> None:
    """The job's own checks, with the field named as `emogen batch` names it."""
    try:
        params.check()
    except FieldError as err:
        raise EmotionError(f"{err.field}: {err}") from None


def run_job(modality: str, params, progress=None) -> Generated:
    """Check, generate, score and save one job; ``progress(step, total)`` where the runner reports steps."""
    check_job(params)
    start = time.perf_counter()
    runner = _runner(modality)
    runner.prepare(params)
    fields = asdict(params)
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:8]
    path = output_root() / modality / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest}{MODALITIES[modality].suffix}"
    result = runner.run(params, path, progress=progress) if progress is not None else runner.run(params, path)
    seconds = time.perf_counter() - start
    evaluation = result.evaluation.to_dict() if result.evaluation is not None else None
    write_json_atomic(path.with_suffix(".json"), {"modality": modality, "params": fields, "file": path.name,
                                                  "scores": result.scores, "evaluation": evaluation,
                                                  "details": result.details, "seconds": round(seconds, 3)})
    return Generated(path, result, seconds)


def save_upload(name: str, data: bytes) -> Path:
    """Keep an uploaded input (a still, a portrait) beside the results, so a result's sidecar can name it."""
    from emogen.ui.pages.score import IMAGE_TYPES, check_upload

    suffix = check_upload(name, data, IMAGE_TYPES)
    path = output_root() / "uploads" / f"{hashlib.sha256(data).hexdigest()[:16]}.{suffix}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as temporary:
            temporary.write_bytes(data)
    return path
