"""Soundtracks (issue 8): does the music scorer hear the emotion the composer was asked for?

The scorer's rules are fixed from the literature (emogen/music/scorer.py), not fitted to the composer.
The seeds below (1000+) were not used while the composer was developed (that used seeds 0-9).
"""
from __future__ import annotations

import shutil
import time

import numpy as np

from emogen.benchmark import Metric, run_benchmark
from emogen.emotion import Emotion, EmotionArc
from emogen.music.composer import compose
from emogen.music.scorer import arc_agreement, estimate, quadrant
from emogen.music.synth import DEFAULT_SAMPLE_RATE, find_soundfont, render, render_fluidsynth

QUADRANT_EMOTIONS = ("joy", "anger", "sadness", "contentment")  # +V+A, -V+A, -V-A, +V-A
SEEDS = tuple(range(1000, 1005))
PIECE_S = 12.0
ARCS = (("joy@0 -> sadness@10 -> anger@20 -> contentment@30", 32.0), ("sadness@0 -> joy@10", 14.0))
RTF_PIECE_S = 30.0


def quadrant_accuracy(renderer) -> tuple[float, dict[str, float]]:
    per_emotion = {}
    for name in QUADRANT_EMOTIONS:
        emotion = Emotion.parse(name)
        wanted = quadrant(emotion.valence, emotion.arousal)
        hits = [estimate(renderer(compose(emotion, PIECE_S, seed)), DEFAULT_SAMPLE_RATE).quadrant == wanted
                for seed in SEEDS]
        per_emotion[name] = float(np.mean(hits))
    return float(np.mean(list(per_emotion.values()))), per_emotion


def arc_cccs() -> dict[str, tuple[float, float]]:
    results = {}
    for spec, seconds in ARCS:
        arc = EmotionArc.parse(spec)
        scores = [arc_agreement(arc, render(compose(arc, seconds, seed)), DEFAULT_SAMPLE_RATE) for seed in SEEDS]
        results[spec] = (float(np.mean([s.ccc_valence for s in scores])),
                         float(np.mean([s.ccc_arousal for s in scores])))
    return results


def real_time_factor(function, seconds: float, repeats: int = 3) -> float:
    """Best of ``repeats`` wall times of ``function`` divided by the audio length."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times) / seconds


def measure() -> list[Metric]:
    runs = f"{len(QUADRANT_EMOTIONS)} emotions x {len(SEEDS)} seeds, {PIECE_S:g} s pieces"
    accuracy, per_emotion = quadrant_accuracy(lambda score: render(score, DEFAULT_SAMPLE_RATE))
    metrics = [Metric("quadrant accuracy, built-in synthesiser", round(accuracy, 3), "fraction", ">= 0.75",
                      f"{runs}; per emotion {per_emotion}; chance 0.25")]
    if shutil.which("fluidsynth"):
        font = find_soundfont()
        accuracy, per_emotion = quadrant_accuracy(lambda score: render_fluidsynth(score, font, DEFAULT_SAMPLE_RATE))
        metrics.append(Metric("quadrant accuracy, FluidSynth + " + font.name, round(accuracy, 3), "fraction",
                              note=f"{runs}; per emotion {per_emotion}"))
    for spec, (valence, arousal) in arc_cccs().items():
        note = f"mean over {len(SEEDS)} seeds; 4 s windows every 1 s against the arc at each window's centre"
        metrics += [Metric(f"arc CCC valence: {spec}", round(valence, 3), "CCC", note=note),
                    Metric(f"arc CCC arousal: {spec}", round(arousal, 3), "CCC", note=note)]
    arc = EmotionArc.parse(ARCS[0][0])
    audio = render(compose(arc, RTF_PIECE_S, 0))
    metrics += [
        Metric("compose + render real-time factor (CPU, 1 thread)",
               round(real_time_factor(lambda: render(compose(arc, RTF_PIECE_S, 0)), RTF_PIECE_S), 4), "x",
               "<= 0.1", f"{RTF_PIECE_S:g} s arc at {DEFAULT_SAMPLE_RATE} Hz; best of 3; < 1 is faster than real time"),
        Metric("scorer real-time factor (CPU)",
               round(real_time_factor(lambda: estimate(audio, DEFAULT_SAMPLE_RATE), RTF_PIECE_S), 4), "x",
               note="one estimate over the whole 30 s piece"),
    ]
    return metrics


if __name__ == "__main__":
    run_benchmark("music", "Soundtracks (issue 8): composer -> music scorer quadrant accuracy, arc CCC, speed.",
                  measure)
