"""Avatar renderer throughput: frames per second in one Python process, at 64, 128 and 256 px.

Each frame is a different identity or expression (8 identities x 8 categories, cycled), so the
number includes everything but the per-identity background, which a clip reuses anyway.
"""
from __future__ import annotations

import os
import time

from emogen.benchmark import Metric, run_benchmark
from emogen.emotion import Emotion
from emogen.face.avatar import Identity, render_face, supersampling
from emogen.face.rig import emotion_to_blendshapes

SIZES = (64, 128, 256)
CATEGORIES = ("neutral", "joy", "sadness", "surprise", "fear", "anger", "disgust", "contempt")


def frames_per_second(size: int, seconds: float) -> float:
    identities = [Identity.from_seed(seed) for seed in range(8)]
    expressions = [emotion_to_blendshapes(category) for category in CATEGORIES]
    jobs = [(i, e) for i in identities for e in expressions]
    for identity, expression in jobs[:8]:  # warm-up: imports, caches
        render_face(identity, expression, size=size)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        identity, expression = jobs[count % len(jobs)]
        render_face(identity, expression, size=size)
        count += 1
    return count / (time.perf_counter() - start)


def rig_rate(seconds: float) -> float:
    emotions = [Emotion.parse(c) for c in CATEGORIES]
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        emotion_to_blendshapes(emotions[count % len(emotions)])
        count += 1
    return count / (time.perf_counter() - start)


def measure(seconds: float = 2.0) -> list[Metric]:
    # The target is per core: pin this process to one CPU so the number cannot borrow the second.
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    metrics = [
        Metric(f"render_face at {size} px, one core", round(frames_per_second(size, seconds), 1), "frames/s",
               ">= 200" if size == 64 else None, f"supersampling x{supersampling(size)}")
        for size in SIZES
    ]
    metrics.append(Metric("emotion -> blendshapes (rig)", round(rig_rate(seconds / 2)), "emotions/s"))
    return metrics


if __name__ == "__main__":
    run_benchmark("avatar_renderer", "EmoFaces avatar renderer and face rig throughput (issue 3); "
                  "8 identities x 8 EMFACS categories cycled.", measure)
