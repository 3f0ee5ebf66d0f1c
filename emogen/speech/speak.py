"""The expressive speech pipeline: text + emotion (or plan) -> audio that follows the plan, timings, scores.

Reads top to bottom:
    check inputs -> neutral rendering per sentence (the reference, and word durations for arcs)
    -> plan -> engine rendering per sentence with the plan -> post-processing -> concatenation
    -> scoring against the neutral reference -> adherence report.
Sentences are synthesised one at a time so that long texts never reach an engine in one piece.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.score.estimate import EmotionEstimate
from emogen.speech.adherence import AdherenceReport, adherence
from emogen.speech.engines import SpeechEngine, Timing, Utterance, get_engine
from emogen.speech.features import Analysis
from emogen.speech.plan import ProsodyPlan
from emogen.speech.postprocess import render, with_headroom
from emogen.speech.scorer import SpeechCues, score_speech
from emogen.speech.text import check_text, chunk_words, split_words


@dataclass(frozen=True)
class SpeechResult:
    utterance: Utterance  # the rendered speech, with word and phoneme timings
    reference: Utterance  # the same voice speaking the same text neutrally, at the same level
    plan: ProsodyPlan
    engine: str
    voice: str
    estimate: EmotionEstimate
    cues: SpeechCues
    adherence: AdherenceReport
    seconds: dict = field(default_factory=dict)  # wall time per stage

    @property
    def real_time_factor(self) -> float:
        """Synthesis plus post-processing time over audio duration (scoring excluded)."""
        return (self.seconds["synthesis"] + self.seconds["post_processing"]) / max(self.utterance.duration, 1e-9)

    def to_dict(self) -> dict:
        """The sidecar JSON: plan, timings, scores, adherence, speed."""
        return {
            "text": self.plan.text,
            "engine": self.engine,
            "voice": self.voice,
            "sample_rate": self.utterance.sample_rate,
            "duration_s": round(self.utterance.duration, 4),
            "plan": self.plan.to_dict(),
            "words": [w.to_dict() for w in self.utterance.words],
            "phonemes": [p.to_dict() for p in self.utterance.phonemes],
            "scores": {**self.estimate.to_dict(), "cues": self.cues.to_dict()},
            "adherence": self.adherence.to_dict(),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "real_time_factor": round(self.real_time_factor, 4),
        }


def speak(
    text: str | None = None,
    emotion: str | Emotion | EmotionArc | None = None,
    plan: ProsodyPlan | None = None,
    engine: str | SpeechEngine = "espeak",
    voice: str | None = None,
) -> SpeechResult:
    """Speak ``text`` with ``emotion`` (an Emotion, an EmotionArc or a spec), or render an edited ``plan``."""
    text = _check_inputs(text, emotion, plan)
    engine = get_engine(engine, voice) if isinstance(engine, str) else engine
    words = split_words(text)
    chunks = chunk_words(words)
    chunk_texts = [_chunk_text(text, words, chunks, i) for i in range(len(chunks))]

    started = time.perf_counter()
    neutral = [engine.synthesize(chunk) for chunk in chunk_texts]
    neutral_seconds = time.perf_counter() - started
    if plan is None:
        durations = [w.end - w.start for n in neutral for w in n.words]
        plan = ProsodyPlan.for_text(text, emotion, durations)

    seconds = {"synthesis": neutral_seconds, "post_processing": 0.0}
    neutral_analyses = [Analysis.of(n) for n in neutral]
    reference_hz = _voice_median(neutral_analyses)
    rendered = []
    for chunk, chunk_text, neutral_analysis in zip(chunks, chunk_texts, neutral_analyses):
        chunk_plan = ProsodyPlan(chunk_text, plan.utterance, plan.words[chunk.start : chunk.stop], plan.emotion)
        started = time.perf_counter()
        # A second take only where the engine's own controls have something to do.
        asks = "rate" in engine.realises and any(w.cues.rate != 1.0 for w in chunk_plan.words)
        raw = engine.synthesize(chunk_text, chunk_plan) if asks else neutral_analysis.utterance
        seconds["synthesis"] += time.perf_counter() - started
        started = time.perf_counter()
        rendered.append(render(raw, neutral_analysis, chunk_plan.words, reference_hz))
        seconds["post_processing"] += time.perf_counter() - started

    output = _concatenate(rendered)
    reference = _concatenate([with_headroom(n) for n in neutral])
    started = time.perf_counter()
    output_analysis, reference_analysis = Analysis.of(output), Analysis.of(reference)
    estimate, cues = score_speech(output_analysis, reference_analysis)
    report = adherence(output_analysis, reference_analysis, plan.words)
    seconds["scoring"] = time.perf_counter() - started
    return SpeechResult(output, reference, plan, engine.name, engine.voice, estimate, cues, report, seconds)


def _check_inputs(text: str | None, emotion, plan: ProsodyPlan | None) -> str:
    if plan is None and emotion is None:
        raise EmotionError("give an emotion (a spec such as 'joy:0.8' or an arc 'joy@0 -> sadness@3') or a plan")
    if plan is not None and emotion is not None:
        raise EmotionError("give an emotion or a plan, not both (a plan already holds its emotion)")
    if plan is not None:
        if text is not None and text != plan.text:
            raise EmotionError(f"text {text[:40]!r} differs from the plan's text {plan.text[:40]!r}; leave the text out to speak the plan")
        return plan.text
    return check_text(text)


def _chunk_text(text: str, words, chunks: list[range], index: int) -> str:
    start = words[chunks[index].start].start
    end = words[chunks[index + 1].start].start if index + 1 < len(chunks) else len(text)
    return text[start:end].strip()


def _voice_median(analyses: list[Analysis]) -> float:
    """The voice's neutral median F0 over the whole text: one reference for every sentence."""
    f0 = np.concatenate([a.track.f0[a.track.voiced] for a in analyses])
    if f0.size == 0:
        raise EmotionError("the engine produced no voiced speech for this text; nothing to shape")
    return float(np.median(f0))


def _concatenate(parts: list[Utterance]) -> Utterance:
    offset, words, phonemes = 0.0, [], []
    for part in parts:
        words += [Timing(w.label, w.start + offset, w.end + offset) for w in part.words]
        phonemes += [Timing(p.label, p.start + offset, p.end + offset) for p in part.phonemes]
        offset += part.duration
    audio = np.concatenate([p.audio for p in parts]).astype(np.float32)
    return Utterance(audio, parts[0].sample_rate, tuple(words), tuple(phonemes))
