"""`generate_video`: the one call behind `emogen video` and the UI: prompt + emotion arc (+ a still) -> scored frames.

    from emogen.video import generate_video
    result = generate_video("a cartoon portrait of a person with curly auburn hair", "joy@0 -> sadness@1.5",
                            frames=16, fps=8)
    result.frames          # [16, 64, 64, 3] uint8
    result.sidecar()       # per-frame targets and scores, the arc's CCC, settings (JSON-ready)

Every request is checked before a model is loaded (frame count, fps, the arc against the clip's
length, the still), so bad input costs nothing and raises one EmotionError naming it.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.io import Media, read_rgb
from emogen.video.clip import check_arc_fits, check_frame_count
from emogen.videofile import check_fps

MAX_FRAMES = 32  # the shipped motion modules' reach; a loaded model may allow fewer or more
DEFAULT_FRAMES = 16
DEFAULT_FPS = 8.0
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 3.0


@dataclass
class VideoRequest:
    """A checked request: the parsed arc, the frame times and the still (if any) as RGB uint8."""

    prompt: str
    emotion_spec: str
    arc: EmotionArc
    frames: int
    fps: float
    times: np.ndarray
    still: np.ndarray | None = None
    image_source: str | None = None


@dataclass
class VideoResult:
    """A generated clip with its per-frame targets and scores."""

    frames: np.ndarray  # [F, H, W, 3] uint8
    fps: float
    times: list[float]
    targets: list[Emotion]
    estimates: list  # EmotionEstimate per frame (empty without a scorer)
    measures: dict  # emogen.video.metrics: CCC, end state, identity consistency, flicker
    settings: dict = field(default_factory=dict)

    def sidecar(self) -> dict:
        """JSON-ready record: settings, then every frame's time, target and scores, then the summary."""
        per_frame = []
        for index, (time_s, target) in enumerate(zip(self.times, self.targets)):
            row = {"frame": index, "time": round(time_s, 6), "target": target.to_dict()}
            if self.estimates:
                row["scores"] = self.estimates[index].to_dict()
            per_frame.append(row)
        summary = {k: v for k, v in self.measures.items() if not isinstance(v, list)}
        return {**self.settings, "per_frame": per_frame, "summary": summary}


def check_request(prompt: str, emotion, frames: int, fps: float, image: Media | None = None,
                  max_frames: int = MAX_FRAMES) -> VideoRequest:
    """Everything that can be refused without a model; EmotionError names the bad value."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise EmotionError(f"prompt must be a non-empty text, got {prompt!r}")
    check_frame_count(frames, max_frames)
    fps = check_fps(fps)
    try:
        arc = EmotionArc.parse(emotion)
    except EmotionError as err:
        raise EmotionError(f"emotion: {err}") from None
    check_arc_fits(arc, frames, fps)
    still, source = None, None
    if image is not None:
        source = str(image) if isinstance(image, (str, os.PathLike)) else type(image).__name__
        still = read_rgb(Path(image) if isinstance(image, os.PathLike) else image)
    spec = emotion if isinstance(emotion, str) else arc.to_json()
    return VideoRequest(prompt, spec, arc, frames, fps, arc.frame_times(fps, frames=frames), still, source)


def generate_video(
    prompt: str,
    emotion,
    frames: int = DEFAULT_FRAMES,
    fps: float = DEFAULT_FPS,
    image: Media | None = None,
    strength: float = 0.6,
    anchor_first_frame: bool = False,
    steps: int | None = None,
    guidance: float | None = None,
    emotion_guidance: float | None = None,
    emotion_scale: float | None = None,
    seed: int = 0,
    noise_correlation: float | None = None,
    model: str | os.PathLike | None = None,
    device: str = "cpu",
    scorer: str | None = "emofaces",
    pipeline=None,
    callback: Callable[[int, int], None] | None = None,
) -> VideoResult:
    """Generate and score one clip. ``pipeline`` reuses a loaded `EmotionVideoPipeline` (the UI keeps
    one); else ``model`` is loaded (default: the shipped checkpoints/emofaces-video). ``steps`` and
    ``guidance`` default to the model's recommendation (else DEFAULT_STEPS / DEFAULT_GUIDANCE), and so
    does ``emotion_scale`` (how far the emotion tokens are pushed from the neutral prompt's; else 1);
    ``noise_correlation`` (emogen.video.noise: how much noise the frames share, 0..1; higher is steadier)
    to the model's recommendation, else the value it was trained with."""
    from emogen.image.loading import recommended_sampling
    from emogen.image.pipeline import check_scale
    from emogen.video.loading import default_video_model, load_video_pipeline
    from emogen.video.metrics import clip_measures
    from emogen.video.noise import check_noise_correlation
    from emogen.video.pipeline import to_uint8

    request = check_request(prompt, emotion, frames, fps, image)
    if noise_correlation is not None:
        check_noise_correlation(noise_correlation)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise EmotionError(f"seed must be an integer >= 0, got {seed!r}")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0):
        raise EmotionError(f"steps must be a positive integer, got {steps!r}")
    if emotion_scale is not None:
        check_scale("emotion_scale", emotion_scale)
    estimator = None
    if scorer is not None:
        from emogen.score.registry import get_scorer

        estimator = get_scorer(scorer)
    if pipeline is None:
        model = default_video_model() if model is None else model
        pipeline = load_video_pipeline(model, device=device)
        pipeline.set_progress_bar_config(disable=True)
    recommended = recommended_sampling(model) if model is not None and Path(model).is_dir() else {}
    steps = recommended.get("num_inference_steps", DEFAULT_STEPS) if steps is None else steps
    guidance = recommended.get("guidance_scale", DEFAULT_GUIDANCE) if guidance is None else guidance
    emotion_scale = recommended.get("emotion_scale", 1.0) if emotion_scale is None else emotion_scale
    if noise_correlation is None:
        noise_correlation = recommended.get("noise_correlation", pipeline.config.noise_correlation)

    started = time.perf_counter()
    output = pipeline(
        request.prompt, request.arc, num_frames=request.frames, fps=request.fps, image=request.still,
        strength=strength, anchor_first_frame=anchor_first_frame, num_inference_steps=steps,
        guidance_scale=guidance, emotion_guidance_scale=emotion_guidance, emotion_scale=emotion_scale, seed=seed,
        noise_correlation=noise_correlation, output_type="np", callback=callback,
    )
    seconds = time.perf_counter() - started
    clip = to_uint8(output.frames)
    estimates = estimator.score_batch(list(clip)) if estimator is not None else []
    measures = {}
    if estimates:
        still = None
        if request.still is not None:
            from PIL import Image, ImageOps

            size = (clip.shape[2], clip.shape[1])
            still = np.asarray(ImageOps.fit(Image.fromarray(request.still), size, Image.Resampling.BICUBIC))
        measures = clip_measures(clip, output.emotions, estimates, still=still)
    settings = {
        "prompt": request.prompt,
        "emotion": request.emotion_spec,
        "arc": request.arc.to_dict(),
        "frames": request.frames,
        "fps": request.fps,
        "seed": seed,
        "steps": steps,
        "guidance": guidance,
        "emotion_guidance": guidance if emotion_guidance is None else emotion_guidance,
        "emotion_scale": float(emotion_scale),
        "noise_correlation": float(noise_correlation),
        "image": request.image_source,
        "strength": strength if request.still is not None else None,
        "anchor_first_frame": anchor_first_frame if request.still is not None else None,
        "model": None if model is None else str(model),
        "scorer": scorer,
        "seconds": round(seconds, 3),
        "size": [int(clip.shape[2]), int(clip.shape[1])],
    }
    return VideoResult(clip, request.fps, output.times, output.emotions, estimates, _jsonable(measures), settings)


def _jsonable(measures: dict) -> dict:
    """NaN (an undefined measure, e.g. a ratio over nothing) as None, so the sidecar is strict JSON."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in measures.items()}
