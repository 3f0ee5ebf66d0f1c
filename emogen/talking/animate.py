"""Speech mouth + emotion -> the full face motion of a talking head, as MotionTracks.

Reads top to bottom: expression targets from the emotion or arc (sequence level) -> combined with
the mouth (content/emotion separation, ``expression.combine``) -> blinks and gaze laid over the eyes
-> head pose: the emotion's posture (a sad head bows) with slow sway and nods on the speech's stresses.
Deterministic for a given seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.face.rig import NUM_BLENDSHAPES
from emogen.talking.expression import arousal_track, combine, expression_track, posture_track, speech_activity
from emogen.talking.idle import IdleConfig, apply_eyes, blink_track, gaze_track, head_track
from emogen.talking.tracks import MotionTracks


@dataclass(frozen=True, eq=False)
class Animation:
    """The tracks and the parts they were made of (kept for the sidecar and for tests)."""

    tracks: MotionTracks
    mouth: np.ndarray  # (n, 52) the speech mouth as given
    expression: np.ndarray  # (n, 52) the emotion's targets per frame
    activity: np.ndarray  # (n,) 1 while speaking
    blink: np.ndarray  # (n,) lid closure from blinks


def animate(mouth: np.ndarray, emotion: str | Emotion | EmotionArc, fps: float,
            envelope: np.ndarray | None = None, seed: int = 0, idle: IdleConfig = IdleConfig(),
            prototypes: np.ndarray | None = None) -> Animation:
    """Face motion for a (n, 52) speech ``mouth`` track under ``emotion`` (an Emotion, arc or spec).

    ``envelope`` (n,) is the speech loudness per frame (``envelope.rms_envelope``): it times the nods.
    ``prototypes``: the renderer's emotion faces (its ``expression_prototypes``; None: the avatar's).
    """
    mouth = np.asarray(mouth, dtype=np.float32)
    if mouth.ndim != 2 or mouth.shape[1] != NUM_BLENDSHAPES or mouth.shape[0] == 0:
        raise EmotionError(f"the mouth track must be (n_frames >= 1, 52), got {mouth.shape}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EmotionError(f"seed must be an integer >= 0, got {seed!r}")
    n = mouth.shape[0]
    arc = EmotionArc.parse(emotion)
    expression = expression_track(arc, fps, n, prototypes=prototypes)
    arousal = arousal_track(arc, fps, n)
    face = combine(mouth, expression, fps, arousal)
    blink = blink_track(n, fps, arousal, seed, idle)
    gaze = gaze_track(n, fps, seed, idle)
    face = apply_eyes(face, blink, gaze, idle)
    loudness = np.zeros(n) if envelope is None else np.asarray(envelope, dtype=np.float64)
    if loudness.shape != (n,):
        raise EmotionError(f"the envelope must have one value per frame ({n}), got shape {loudness.shape}")
    head = head_track(n, fps, loudness, arousal, seed, idle, posture_track(arc, fps, n))
    tracks = MotionTracks(fps, face, head, gaze)
    return Animation(tracks, mouth, expression, speech_activity(mouth, fps), blink)
