"""How well a clip follows its emotion arc, and how steady it is, measured frame by frame.

- **Arc following**: every frame is scored by an emotion scorer (the EmoFaces scorer for EmoFaces
  faces); the concordance correlation (Lin's CCC, `emogen.score.metrics.ccc`) between the requested
  and the measured valence curve, and the same for arousal; **end-state accuracy**: the scorer's top
  category on the last frame is the arc's final category.
- **Flicker**: mean absolute difference between consecutive frames (pixel values in [0, 1]), (a) on
  the *static region*, the pixels that never change in the ground-truth EmoFaces clip rendered from
  the same spec (identity, arc, blinks, head motion; in practice the background), where any change is
  flicker; and (b) over the whole frame, whose ratio to the ground truth's (``flicker_ratio``) says
  how much more the generated clip changes from frame to frame than the real one does. The ground
  truth's static-region value is 0 by construction, so a ratio is only meaningful for (b).
  **Motion kept** (``moving_change_ratio``): the same difference over the pixels that do change in the
  ground truth (face, head), against the ground truth's there. Read with the flicker ratio: a clip
  whose frames barely differ has a low flicker ratio and a motion-kept ratio well under 1 (its blinks
  and head motion are gone).
- **Identity consistency**: histogram intersection of colour histograms (8 bins per channel) between
  each frame and a reference (the first frame; for image-to-video also the given still). EmoFaces
  identities are colours (hair, skin, shirt, background) and shapes, and a colour histogram is
  unmoved by expressions and small head motion, so it drops when the identity drifts. 1 = the same.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from emogen.data.emofaces import (
    CATEGORY_SET,
    OPPOSITES,
    FaceSpec,
    _identity,
    clip_spec,
    describe_identity,
)
from emogen.emotion import Emotion, EmotionArc
from emogen.score.metrics import ccc

# A ground-truth pixel that changes by less than this (in [0, 1]) over the whole clip is static.
STATIC_THRESHOLD = 1.0 / 255.0
HISTOGRAM_BINS = 8


@dataclass(frozen=True)
class ClipCase:
    """One held-out clip to generate: who (prompt, identity) and which arc, at which frame times."""

    name: str
    prompt: str
    arc_spec: str
    fps: float
    num_frames: int
    identity_seed: int
    frames: tuple[FaceSpec, ...] = field(repr=False)  # the ground truth, frame by frame

    @property
    def arc(self) -> EmotionArc:
        return EmotionArc.parse(self.arc_spec, CATEGORY_SET)

    def ground_truth(self, size: int) -> np.ndarray:
        """The EmoFaces clip of this spec, [F, size, size, 3] uint8."""
        return np.stack([np.asarray(frame.render(max(size, 64)).convert("RGB").resize((size, size))) for frame in self.frames])


def case_from_clip(index: int, num_frames: int, fps: float, arc_spec: str | None = None, seed: int = 0,
                   name: str | None = None) -> ClipCase:
    """Held-out clip ``index`` (identity, blinks, head motion), with its own random arc or ``arc_spec``."""
    spec = clip_spec(index, "heldout", seed, fps=fps, duration=(num_frames - 1) / fps)
    arc_spec = arc_spec or spec.arc_spec
    arc = EmotionArc.parse(arc_spec, CATEGORY_SET)
    frames = tuple(FaceSpec(spec.identity_seed, arc.at(t), "arc", frame.pose, frame.blink)
                   for t, frame in zip(spec.times, spec.frames))
    return ClipCase(name or f"heldout-{index}", describe_identity(_identity(spec.identity_seed)), arc_spec, fps,
                    num_frames, spec.identity_seed, frames)


def opposite_arc(category: str, num_frames: int, fps: float) -> str:
    """category -> its opposite (the farthest in valence-arousal), held at each end: a quarter of the clip
    on the first, the middle half moving, the last quarter on the second."""
    last = (num_frames - 1) / fps
    return f"{category}@{0.25 * last:.3f} -> {OPPOSITES[category]}@{0.75 * last:.3f}"


def validation_cases(count: int, num_frames: int, fps: float, seed: int = 7) -> list[ClipCase]:
    """``count`` held-out clips along opposite-emotion arcs (cycling through the categories)."""
    categories = list(OPPOSITES)
    return [case_from_clip(seed * 1000 + k, num_frames, fps, opposite_arc(categories[k % len(categories)], num_frames, fps),
                           name=f"{categories[k % len(categories)]}->{OPPOSITES[categories[k % len(categories)]]}")
            for k in range(count)]


# ----- per-clip measures -------------------------------------------------------------------------------

def arc_following(targets: Sequence[Emotion], estimates: Sequence) -> dict:
    """CCC of the valence and arousal curves, end-state hit, and the curves themselves."""
    target_v = [e.valence for e in targets]
    target_a = [e.arousal for e in targets]
    measured_v = [e.valence for e in estimates]
    measured_a = [e.arousal for e in estimates]
    final = targets[-1].to_set(CATEGORY_SET).top
    return {
        "ccc_valence": ccc(target_v, measured_v),
        "ccc_arousal": ccc(target_a, measured_a),
        "end_state_correct": float(estimates[-1].top1 == final),
        "end_state_target": final,
        "end_state_measured": estimates[-1].top1,
        "target_valence": target_v,
        "target_arousal": target_a,
        "measured_valence": measured_v,
        "measured_arousal": measured_a,
    }


def static_mask(ground_truth: np.ndarray, threshold: float = STATIC_THRESHOLD) -> np.ndarray:
    """[H, W] True where the ground-truth clip never changes (max minus min over frames, any channel)."""
    frames = ground_truth.astype(np.float32) / 255.0
    return (frames.max(axis=0) - frames.min(axis=0)).max(axis=-1) < threshold


def frame_difference(frames: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean |frame[t+1] - frame[t]| in [0, 1] units, over ``mask`` [H, W] (all pixels when None)."""
    if len(frames) < 2:
        return 0.0
    values = np.abs(np.diff(frames.astype(np.float32) / 255.0, axis=0)).mean(axis=-1)  # [F-1, H, W]
    if mask is not None:
        if not mask.any():
            return float("nan")
        values = values[:, mask]
    return float(values.mean())


def colour_histogram(frame: np.ndarray, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    codes = (frame.reshape(-1, 3).astype(np.int64) * bins) // 256
    index = (codes[:, 0] * bins + codes[:, 1]) * bins + codes[:, 2]
    histogram = np.bincount(index, minlength=bins**3).astype(np.float64)
    return histogram / histogram.sum()


def identity_consistency(frames: np.ndarray, reference: np.ndarray | None = None) -> float:
    """Mean colour-histogram intersection of every frame with ``reference`` (default: the first frame)."""
    reference = frames[0] if reference is None else reference
    target = colour_histogram(reference)
    others = frames[1:] if reference is frames[0] else frames
    if len(others) == 0:
        return 1.0
    return float(np.mean([np.minimum(target, colour_histogram(frame)).sum() for frame in others]))


def clip_measures(frames: np.ndarray, targets: Sequence[Emotion], estimates: Sequence,
                  ground_truth: np.ndarray | None = None, still: np.ndarray | None = None) -> dict:
    """Every measure of one generated clip ([F, H, W, 3] uint8)."""
    result = arc_following(targets, estimates)
    result["identity_consistency"] = identity_consistency(frames)
    result["flicker"] = frame_difference(frames)
    if still is not None:
        result["identity_to_still"] = identity_consistency(frames, reference=still)
    if ground_truth is not None:
        mask = static_mask(ground_truth)
        result["static_fraction"] = float(mask.mean())
        result["static_flicker"] = frame_difference(frames, mask)
        result["gt_static_flicker"] = frame_difference(ground_truth, mask)
        result["gt_flicker"] = frame_difference(ground_truth)
        result["flicker_ratio"] = _ratio(result["flicker"], result["gt_flicker"])
        result["moving_change_ratio"] = _ratio(frame_difference(frames, ~mask), frame_difference(ground_truth, ~mask))
        result["gt_identity_consistency"] = identity_consistency(ground_truth)
    return result


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else float("nan")


# ----- many clips ----------------------------------------------------------------------------------------

def score_frames(scorer, frames: np.ndarray) -> list:
    return scorer.score_batch(list(frames))


SUMMARY_KEYS = ("ccc_valence", "ccc_arousal", "end_state_correct", "flicker_ratio", "moving_change_ratio",
                "static_flicker", "gt_static_flicker", "flicker", "gt_flicker", "identity_consistency",
                "gt_identity_consistency", "identity_to_still")


def summarise(per_clip: list[dict]) -> dict:
    """Means over clips (end_state_correct becomes end_state_accuracy), and the pooled CCCs: one CCC over
    every frame of every clip (as AVEC scores continuous emotion). A clip whose target barely moves (fear
    -> joy changes arousal by 0.12) has a per-clip CCC ruled by the scorer's bias; pooled, it counts by
    its frames."""
    summary = {}
    for key in SUMMARY_KEYS:
        values = [clip[key] for clip in per_clip if key in clip and np.isfinite(clip[key])]
        if values:
            name = "end_state_accuracy" if key == "end_state_correct" else key
            summary[name] = float(np.mean(values))
    for dimension in ("valence", "arousal"):
        clips = [clip for clip in per_clip if f"target_{dimension}" in clip]
        if clips:
            summary[f"pooled_ccc_{dimension}"] = ccc(np.concatenate([clip[f"target_{dimension}"] for clip in clips]),
                                                     np.concatenate([clip[f"measured_{dimension}"] for clip in clips]))
    return summary


def evaluate_clips(pipeline, scorer, cases: Sequence[ClipCase], image_to_video: bool = False, seed: int = 0,
                   **call_kwargs) -> tuple[dict, list[list]]:
    """Generate every case (text-to-video, or animating the case's ground-truth first frame), score and
    measure it. Returns (summary + per-clip rows, the clips as lists of uint8 frames)."""
    from emogen.video.pipeline import to_uint8

    rows, clips, seconds = [], [], []
    for number, case in enumerate(cases):
        size = pipeline.unet.config.sample_size * pipeline.vae_scale_factor
        ground_truth = case.ground_truth(size)
        still = ground_truth[0] if image_to_video else None
        started = time.perf_counter()
        output = pipeline(case.prompt, case.arc_spec, num_frames=case.num_frames, fps=case.fps, image=still,
                          seed=seed + number, output_type="np", **call_kwargs)
        seconds.append(time.perf_counter() - started)
        frames = to_uint8(output.frames)
        clips.append(list(frames))
        if scorer is None:
            continue
        row = clip_measures(frames, output.emotions, score_frames(scorer, frames), ground_truth, still)
        rows.append({"case": case.name, "arc": case.arc_spec, **row})
    summary = summarise(rows) if rows else {}
    summary["seconds_per_clip"] = float(np.mean(seconds))
    return {**summary, "clips": rows}, clips
