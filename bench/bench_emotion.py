"""The emotion language: conversion round trips, parser and arc throughput, encoder speed."""
from __future__ import annotations

import time

import torch

from emogen.benchmark import Metric, run_benchmark
from emogen.emotion import CATEGORY_SETS, Emotion, EmotionArc
from emogen.emotion.encoder import EmotionEncoder, emotion_features

SPECS = ["joy", "joy:0.8", "0.6 joy + 0.4 surprise", "v=0.7,a=0.4", "v=-0.7,a=0.7,d=0.2", "scared:0.5", "awe"]


def rate(function, seconds: float = 1.0) -> float:
    """Calls per second of ``function`` over about ``seconds``."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function()
        count += 1
    return count / (time.perf_counter() - start)


def measure() -> list[Metric]:
    pairs = [(name, c) for name, s in CATEGORY_SETS.items() for c in s.categories]
    kept = sum(Emotion.from_vad(*Emotion.from_category(c, category_set=n).vad, category_set=n).top == c for n, c in pairs)
    arc = EmotionArc.parse("joy@0 -> sadness@2 -> v=0.2,a=0.9@4")
    encoder = EmotionEncoder().eval()
    features = emotion_features([Emotion.parse(SPECS[i % len(SPECS)]) for i in range(256)])
    with torch.inference_mode():
        encode_rate = rate(lambda: encoder(features)) * 256
    return [
        Metric("category -> VAD -> category keeps the category", kept / len(pairs), "fraction", ">= 1.0",
               f"{len(pairs)} categories over {len(CATEGORY_SETS)} sets"),
        Metric("spec parsing", round(rate(lambda: [Emotion.parse(s) for s in SPECS]) * len(SPECS)), "specs/s"),
        Metric("arc sampling", round(rate(lambda: arc.sample(25)) * len(arc.frame_times(25))), "frames/s", note="25 fps, 3 keyframes"),
        Metric("encoder forward (batch 256, CPU)", round(encode_rate), "emotions/s",
               note=f"{sum(p.numel() for p in encoder.parameters())} parameters"),
    ]


if __name__ == "__main__":
    run_benchmark("emotion_language", "Emotion parsing, conversion and encoding (issue 2).", measure)
