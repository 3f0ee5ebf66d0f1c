"""One runner per modality: loads its models once per process, then makes, scores and writes one job's file.

``prepare(params)`` is called for every pending job before the first one runs, so that a model that
does not load fails before any work. ``run(params, path)`` writes ``path`` atomically and returns a
`JobResult`; ``seconds["model"]`` is generation plus scoring, the time the model itself takes.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emogen.batch.modalities import ImageJob, MusicJob, SpeechJob, TalkJob, VideoJob
from emogen.emotion import Emotion, EmotionArc
from emogen.score.report import target_category

# Speech scores over five of Ekman's seven categories (emogen.speech.scorer): targets roll up into ekman7.
SPEECH_CATEGORY_SET = "ekman7"


@dataclass(frozen=True)
class Evaluation:
    """Requested vs measured, in the scorer's own terms: a category (or a VA quadrant) and a VA point."""

    requested_label: str
    measured_label: str
    requested_va: tuple[float, float]
    measured_va: tuple[float, float]

    @property
    def hit(self) -> bool:
        return self.requested_label == self.measured_label

    def to_dict(self) -> dict:
        return {**asdict(self), "hit": self.hit}


@dataclass
class JobResult:
    scores: dict
    evaluation: Evaluation | None  # None where there is no single target (an arc) or no score
    details: dict = field(default_factory=dict)  # what the job chose: seed, best-of distances, ...
    seconds: dict = field(default_factory=dict)  # "model" (generate + score) and "write"


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def _single_target(spec: str) -> Emotion | None:
    arc = EmotionArc.parse(spec)
    return arc.keyframes[0].emotion if len(arc.keyframes) == 1 else None


class ImageRunner:
    def __init__(self, device: str):
        self.device = device
        self._pipelines: dict[str, tuple] = {}  # model -> (pipeline, recommended sampling)

    def prepare(self, params: ImageJob) -> None:
        from emogen.image.loading import default_image_model, load_image_pipeline, recommended_sampling
        from emogen.score.registry import get_scorer

        model = params.model or default_image_model()
        if model not in self._pipelines:
            pipeline = load_image_pipeline(model, device=self.device)
            pipeline.set_progress_bar_config(disable=True)  # the batch has one bar over jobs
            self._pipelines[model] = (pipeline, recommended_sampling(model))
        get_scorer(params.scorer)

    def run(self, params: ImageJob, path: Path, progress=None) -> JobResult:
        """``progress(step, total)``, if given, is called after every denoising step (the UI's progress bar)."""
        from emogen.image.commands import sampling_settings, save_png
        from emogen.image.loading import default_image_model
        from emogen.image.verifier import best_of
        from emogen.score.registry import get_scorer

        model = params.model or default_image_model()
        pipeline, sampling = self._pipelines[model]
        scorer = get_scorer(params.scorer)
        target = Emotion.parse(params.emotion)
        steps, text_guidance = sampling_settings(sampling, params.steps, params.guidance)
        guidance = {"guidance_scale": text_guidance, "emotion_scale": params.emotion_scale,
                    "emotion_guidance_scale": text_guidance if params.emotion_guidance is None else params.emotion_guidance}
        result, model_s = _timed(best_of, pipeline, scorer, params.prompt, target, n=params.best_of, seed=params.seed,
                                 num_inference_steps=steps, callback=progress, **guidance)
        scores = {**result.estimate.to_dict(), "distance": result.distance}
        details = {"seed": result.seed, "best_of": {"seeds": result.seeds, "distances": result.distances}}
        # As `emogen image` does: the file alone says what made it and how it scored.
        metadata = {"prompt": params.prompt, "emotion": params.emotion, "emotion_json": target.to_json(),
                    "seed": str(result.seed), "steps": str(steps), "guidance": json.dumps(guidance), "model": str(model),
                    "scorer": scorer.name, "scores": json.dumps(scores), "best_of": json.dumps(details["best_of"])}
        _, write_s = _timed(save_png, result.image, path, metadata)
        estimate = result.estimate
        evaluation = Evaluation(target_category(target, scorer.category_set), estimate.top1,
                                (target.valence, target.arousal), (estimate.valence, estimate.arousal))
        return JobResult(scores, evaluation, details, {"model": model_s, "write": write_s})


class SpeechRunner:
    def __init__(self, device: str):
        self._engines: dict[tuple, object] = {}  # (engine, voice) -> a loaded engine

    def prepare(self, params: SpeechJob) -> None:
        from emogen.speech.engines import get_engine

        key = (params.engine, params.voice)
        if key not in self._engines:
            self._engines[key] = get_engine(params.engine, params.voice)

    def run(self, params: SpeechJob, path: Path) -> JobResult:
        from emogen.audio import write_wav
        from emogen.speech.speak import speak

        result, model_s = _timed(speak, params.text, emotion=params.emotion,
                                 engine=self._engines[(params.engine, params.voice)])
        _, write_s = _timed(write_wav, path, result.utterance.audio, result.utterance.sample_rate)
        estimate = result.estimate
        scores = {**estimate.to_dict(), "cues": result.cues.to_dict(), "adherence": result.adherence.to_dict()}
        target = _single_target(params.emotion)
        evaluation = None if target is None else Evaluation(
            target_category(target, SPEECH_CATEGORY_SET), estimate.top1,
            (target.valence, target.arousal), (estimate.valence, estimate.arousal))
        details = {"engine": result.engine, "voice": result.voice, "duration_s": round(result.utterance.duration, 4)}
        return JobResult(scores, evaluation, details, {"model": model_s, "write": write_s})


class MusicRunner:
    """The embedded composer; best-of keeps the seed whose measured (valence, arousal) is nearest the target."""

    def __init__(self, device: str):
        pass  # the composer and its scorer are numpy code: nothing to load

    def prepare(self, params: MusicJob) -> None:
        pass

    def run(self, params: MusicJob, path: Path) -> JobResult:
        from emogen.audio import write_wav

        arc = EmotionArc.parse(params.emotion)
        target = _single_target(params.emotion)
        candidates, model_s = _timed(
            lambda: [self._make(arc, params, seed) for seed in range(params.seed, params.seed + params.best_of)])
        distances = [_va_distance(scores, target) for _, scores in candidates]
        index = min(range(len(candidates)), key=distances.__getitem__)  # the first of equals: the lowest seed
        audio, scores = candidates[index]
        _, write_s = _timed(write_wav, path, audio, params.sample_rate)
        details = {"seed": params.seed + index}
        if params.best_of > 1:
            details["best_of"] = {"seeds": list(range(params.seed, params.seed + params.best_of)),
                                  "distances": [d if math.isfinite(d) else None for d in distances]}
        evaluation = None
        if target is not None and "overall" in scores:
            from emogen.music.scorer import quadrant

            measured = (scores["overall"]["valence"], scores["overall"]["arousal"])
            evaluation = Evaluation(quadrant(target.valence, target.arousal), quadrant(*measured),
                                    (target.valence, target.arousal), measured)
        return JobResult(scores, evaluation, details, {"model": model_s, "write": write_s})

    @staticmethod
    def _make(arc: EmotionArc, params: MusicJob, seed: int):
        from emogen.music.commands import score_music
        from emogen.music.composer import compose
        from emogen.music.synth import render

        audio = render(compose(arc, params.seconds, seed=seed), params.sample_rate)
        return audio, score_music(arc, audio, params.sample_rate, params.seconds)


def _va_distance(scores: dict, target: Emotion | None) -> float:
    """Distance of the measured VA point to the target's; an unscored piece is the farthest. Arcs have a
    single candidate (MusicJob.check), so they need no distance."""
    if target is None:
        return 0.0
    if "overall" not in scores:
        return math.inf
    overall = scores["overall"]
    return math.hypot(overall["valence"] - target.valence, overall["arousal"] - target.arousal)


class VideoRunner:
    """`emogen video` per job: the clip is scored frame by frame; the evaluation is its end state."""

    def __init__(self, device: str):
        self.device = device
        self._pipelines: dict[str, object] = {}

    def _model(self, params: VideoJob) -> str:
        from emogen.video.loading import default_video_model

        return params.model or default_video_model()

    def prepare(self, params: VideoJob) -> None:
        from emogen.video.loading import load_video_pipeline

        model = self._model(params)
        if model not in self._pipelines:
            pipeline = load_video_pipeline(model, device=self.device)
            pipeline.set_progress_bar_config(disable=True)
            self._pipelines[model] = pipeline

    def run(self, params: VideoJob, path: Path, progress=None) -> JobResult:
        from emogen.video.generate import generate_video
        from emogen.videofile import write_video

        model = self._model(params)
        result, model_s = _timed(generate_video, params.prompt, params.emotion, frames=params.frames, fps=params.fps,
                                 image=params.image, strength=params.strength, steps=params.steps,
                                 guidance=params.guidance, emotion_scale=params.emotion_scale, seed=params.seed,
                                 noise_correlation=params.noise_correlation, model=model, device=self.device,
                                 pipeline=self._pipelines[model], callback=progress)
        _, write_s = _timed(write_video, path, result.frames, result.fps)
        summary = result.sidecar()["summary"]
        evaluation = None
        if result.estimates:
            final, estimate = result.targets[-1], result.estimates[-1]
            evaluation = Evaluation(summary.get("end_state_target") or final.top, estimate.top1,
                                    (final.valence, final.arousal), (estimate.valence, estimate.arousal))
        return JobResult(summary, evaluation, {"settings": result.settings}, {"model": model_s, "write": write_s})


class TalkRunner:
    """`emogen talk` per job (it writes the mp4, its sidecar JSON beside it, all or nothing)."""

    def __init__(self, device: str):
        pass  # the animator and renderers run on the CPU

    def prepare(self, params: TalkJob) -> None:
        from emogen.talking.pipeline import make_portrait

        make_portrait(params.portrait, params.size, params.seed)  # an unreadable photo fails before any job

    def run(self, params: TalkJob, path: Path) -> JobResult:
        from emogen.talking.pipeline import talk

        result, seconds = _timed(talk, params.portrait, text=params.text, emotion=params.emotion, out=path,
                                 fps=params.fps, size=params.size, seed=params.seed, engine=params.engine)
        scores = {key: value for key, value in result.scores.items() if key not in ("mouth_opening", "audio_envelope")}
        expression = scores.get("expression", {})
        target = _single_target(params.emotion)
        evaluation = None
        if target is not None and "clip_top" in expression:
            # A single target: the frames' one target label, in the expression scorer's own category set.
            [requested] = expression["per_target"]
            evaluation = Evaluation(requested, expression["clip_top"], (target.valence, target.arousal),
                                    (expression["valence"], expression["arousal"]))
        details = {"warnings": list(result.warnings), "duration_s": round(result.duration, 4),
                   "real_time_factor": round(result.real_time_factor, 4)}
        # Frames are encoded as they are rendered (one stream), so writing is not separable from the model.
        return JobResult(scores, evaluation, details, {"model": seconds, "write": 0.0})
