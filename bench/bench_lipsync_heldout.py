"""Lip sync on clips nothing was tuned on (issue 7): the check on bench_talking's lip-sync number.

The vocal-effort gain (emogen.talking.effort) was chosen on bench_talking's own 24 clips. Here the same
measure (MediaPipe's inner-lip gap on the output frames vs the audio's RMS envelope, best lag in +-10
frames, emogen.talking.lipsync) runs on other sentences, other avatars (seeds 20..35) and two espeak
voices, for the viseme path and, when its checkpoint exists, the learned audio-to-mouth path (the same
recordings, read back as WAV files without their phoneme timings).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_talking import CATEGORIES, FPS, SIZE, lip_sync_over  # noqa: E402  (the same measure, read the same way)

from emogen.audio import write_wav  # noqa: E402
from emogen.benchmark import Metric, run_benchmark  # noqa: E402
from emogen.talking import talk  # noqa: E402

SENTENCES = (
    "The little red kettle whistled loudly while everybody argued about dinner.",
    "Before sunrise the fishermen pulled their heavy nets back onto the pebbly beach.",
    "My brother bought a purple bicycle, but he rides it only on Sundays.",
    "Could you possibly tell me how far it is to the old stone bridge?",
)
VOICES = ("en-us", "en-gb")


def summary(results: list) -> tuple[float, float, str]:
    r, lag, share = lip_sync_over(results)
    return r, lag, f"share |lag| <= 1: {share:.2f}"


def measure() -> list[Metric]:
    visemes, learned, per_emotion = [], [], {c: [] for c in CATEGORIES}
    with tempfile.TemporaryDirectory(prefix="bench-lipsync-") as scratch:
        for index in range(16):
            category, voice = CATEGORIES[index % 8], VOICES[index // 8]
            result = talk(f"avatar:{20 + index}", text=SENTENCES[index % 4], emotion=category, voice=voice,
                          size=SIZE, fps=FPS, seed=index)
            visemes.append(result)
            per_emotion[category].append(result.scores["lip_sync"]["correlation"])
            if index % 2 == 0:
                wav = Path(scratch) / f"{index}.wav"
                write_wav(wav, result.speech.audio, result.speech.sample_rate)
                learned.append(talk(f"avatar:{20 + index}", audio=wav, emotion=category, size=SIZE, fps=FPS, seed=index))
    r, lag, share = summary(visemes)
    metrics = [
        Metric("held-out lip-sync r (visemes), mean", round(r, 3), "", ">= 0.7",
               f"{len(visemes)} clips: 8 emotions x 2 espeak voices, avatars 20..35, 4 sentences not in bench_talking; "
               "per emotion: " + ", ".join(f"{c} {np.mean(v):.2f}" for c, v in per_emotion.items())),
        Metric("held-out lip-sync |lag| (visemes), mean", round(lag, 2), "frames", "<= 1", share),
    ]
    r, lag, share = summary(learned)
    metrics += [
        Metric("held-out lip-sync r (learned audio-to-mouth model), mean", round(r, 3), "", ">= 0.7",
               f"{len(learned)} of the same recordings as WAV files (no phoneme timings)"),
        Metric("held-out lip-sync |lag| (learned model), mean", round(lag, 2), "frames", "<= 1", share),
    ]
    return metrics


if __name__ == "__main__":
    run_benchmark("lipsync_heldout", "Talking head (issue 7): lip sync on sentences, voices and avatars the "
                  "vocal-effort gain was not tuned on.", measure)
