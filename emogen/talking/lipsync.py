"""Measurements of a talking-head video, made on its output frames by independent models.

* Lip sync: MediaPipe's FaceLandmarker (the real model, not our rig) finds the lips in every frame;
  the inner-lip gap, normalised by the distance between the outer eye corners (which no expression
  changes), is correlated (Pearson) with the audio's RMS envelope per frame, at every lag within
  +-10 frames. Lag > 0 means the mouth trails the audio by that many frames.
* Expression: a scorer (EmoFaces for the avatar, FER2013 for photos) reads the emotion off frames;
  accuracy is the share of scored frames whose top category is the target's.
* Identity: the shape of the face's rigid landmarks (oval, nose, eye corners) after a similarity
  alignment to the same portrait's neutral frame at the same head pose, as an RMS distance in
  inter-ocular units, and the SSIM of the face region against that neutral frame. These check that
  animation does not warp the face away from the portrait (a photo warp that drags the forehead or
  nose would show); they are not face recognition: MediaPipe's shapes of two different EmoFaces
  avatars differ by only ~0.02-0.035 inter-ocular units, about what an expression changes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emogen.errors import EmotionError

# MediaPipe face-mesh indices. Inner lips: the centre pair and one pair to each side.
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))
OUTER_EYE_CORNERS = (33, 263)
# Points no expression moves much: the upper face oval (temples to forehead), nose bridge and tip, eye corners.
RIGID_POINTS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 109, 67, 103, 54, 21, 162, 127, 234,
                168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263)
MAX_LAG = 10


def mouth_openings(frames, landmarker) -> np.ndarray:
    """(n,) inner-lip gap / outer-eye-corner distance per frame; NaN where no face is found."""
    openings = []
    for frame in frames:
        faces = landmarker.detect(np.asarray(frame))
        openings.append(mouth_opening(faces[0].landmarks) if faces else np.nan)
    return np.array(openings, dtype=np.float64)


def mouth_opening(landmarks: np.ndarray) -> float:
    points = np.asarray(landmarks)[:, :2]
    gap = np.mean([np.linalg.norm(points[a] - points[b]) for a, b in INNER_LIP_PAIRS])
    eyes = np.linalg.norm(points[OUTER_EYE_CORNERS[0]] - points[OUTER_EYE_CORNERS[1]])
    return float(gap / max(eyes, 1e-6))


@dataclass(frozen=True)
class LipSync:
    correlation: float  # Pearson r at the best lag
    lag_frames: int  # the best lag; > 0: the mouth trails the audio
    correlation_at_zero: float
    frames_measured: int  # frames where the landmarker found a face
    frames_total: int
    by_lag: dict  # lag -> r

    def to_dict(self) -> dict:
        data = asdict(self)
        data["by_lag"] = {str(k): round(v, 4) for k, v in self.by_lag.items()}
        return data


def lip_sync(openings: np.ndarray, envelope: np.ndarray, max_lag: int = MAX_LAG) -> LipSync:
    """Pearson correlation of mouth opening and audio envelope at lags -max_lag..max_lag frames."""
    openings, envelope = np.asarray(openings, np.float64), np.asarray(envelope, np.float64)
    if openings.shape != envelope.shape or openings.ndim != 1:
        raise EmotionError(f"openings {openings.shape} and envelope {envelope.shape} must be equal-length 1-D arrays")
    valid = np.isfinite(openings)
    if valid.sum() < 3:
        raise EmotionError(f"lip sync needs a face in at least 3 frames; the landmarker found one in {int(valid.sum())}")
    by_lag = {}
    n = len(openings)
    for lag in range(-max_lag, max_lag + 1):
        # mouth at frame t against audio at frame t - lag
        mouth_index = np.arange(max(0, lag), min(n, n + lag))
        audio_index = mouth_index - lag
        keep = valid[mouth_index]
        by_lag[lag] = _pearson(openings[mouth_index][keep], envelope[audio_index][keep])
    finite = {k: v for k, v in by_lag.items() if np.isfinite(v)}
    if not finite:
        raise EmotionError("lip sync is undefined: the mouth or the audio does not vary over the clip")
    # Ties (e.g. a constant stretch) go to the smallest |lag|.
    best = max(finite, key=lambda k: (round(finite[k], 9), -abs(k)))
    return LipSync(float(finite[best]), int(best), float(by_lag[0]), int(valid.sum()), n,
                   {k: float(v) for k, v in by_lag.items()})


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# ----- expression ---------------------------------------------------------------------------------
def expression_accuracy(estimates, targets) -> dict:
    """Share of frames whose scored top category equals the target (per target too); the mean
    probabilities, and whether their top category (the clip's reading) is the clip's main target."""
    if len(estimates) != len(targets) or not estimates:
        raise EmotionError("expression accuracy needs one target per scored frame (and at least one frame)")
    hits = [e.top1 == t for e, t in zip(estimates, targets)]
    per_target: dict[str, list[bool]] = {}
    for hit, target in zip(hits, targets):
        per_target.setdefault(target, []).append(hit)
    mean_probs: dict[str, float] = {}
    for estimate in estimates:
        for name, p in estimate.probs.items():
            mean_probs[name] = mean_probs.get(name, 0.0) + p / len(estimates)
    # The clip's reading: the category of the mean probabilities over its frames (one label per clip).
    clip_top = max(mean_probs, key=mean_probs.get)
    main_target = max(per_target, key=lambda t: len(per_target[t]))
    return {"accuracy": float(np.mean(hits)), "frames": len(hits),
            "per_target": {t: float(np.mean(h)) for t, h in per_target.items()},
            "clip_top": clip_top, "clip_correct": clip_top == main_target,
            "frame_tops": [e.top1 for e in estimates], "frame_targets": list(targets),
            "mean_probs": {k: round(v, 4) for k, v in mean_probs.items()},
            "valence": float(np.mean([e.valence for e in estimates])),
            "arousal": float(np.mean([e.arousal for e in estimates]))}


def accuracy_while_speaking(expression: dict, activity: np.ndarray) -> dict:
    """``expression_accuracy``'s frames (with ``scored_frames``) split by the speech ``activity`` per frame
    (emogen.talking.expression.speech_activity, >= 0.5: speaking): {"while_speaking": {"accuracy", "frames"},
    "in_pauses": {...}}, accuracy None where no scored frame falls. While the person speaks the speech owns
    the jaw and lips, so an emotion shown by its mouth (surprise, anger) reads in the pauses."""
    split: dict[str, list[bool]] = {"while_speaking": [], "in_pauses": []}
    for frame, top, target in zip(expression["scored_frames"], expression["frame_tops"], expression["frame_targets"],
                                  strict=True):
        split["while_speaking" if activity[frame] >= 0.5 else "in_pauses"].append(top == target)
    return {part: {"accuracy": float(np.mean(hits)) if hits else None, "frames": len(hits)}
            for part, hits in split.items()}


# ----- identity -----------------------------------------------------------------------------------
def shape_distance(landmarks: np.ndarray, reference: np.ndarray) -> float:
    """RMS distance of the rigid points after the best similarity transform, in inter-ocular units."""
    a = np.asarray(landmarks)[list(RIGID_POINTS), :2].astype(np.float64)
    b = np.asarray(reference)[list(RIGID_POINTS), :2].astype(np.float64)
    a -= a.mean(0)
    b -= b.mean(0)
    # Orthogonal Procrustes with scale: rotate and scale a onto b.
    u, s, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    scale = s.sum() / max((a * a).sum(), 1e-12)
    residual = scale * a @ rotation - b
    eyes = np.linalg.norm(np.asarray(reference)[OUTER_EYE_CORNERS[0], :2] - np.asarray(reference)[OUTER_EYE_CORNERS[1], :2])
    return float(np.sqrt((residual ** 2).sum(1).mean()) / max(eyes, 1e-6))


def face_ssim(frame: np.ndarray, reference: np.ndarray, bbox: tuple[float, float, float, float]) -> float:
    """SSIM of the face's bounding box (grey levels) between a frame and the reference."""
    from skimage.metrics import structural_similarity

    x0, y0, x1, y1 = (int(round(v)) for v in bbox)
    crop_a = np.asarray(frame)[y0:y1, x0:x1].mean(axis=2)
    crop_b = np.asarray(reference)[y0:y1, x0:x1].mean(axis=2)
    if min(crop_a.shape) < 7:
        return float("nan")
    return float(structural_similarity(crop_a, crop_b, data_range=255.0))
