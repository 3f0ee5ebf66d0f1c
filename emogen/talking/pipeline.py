"""`talk`: portrait + speech + emotion -> a talking-head mp4, its motion tracks and a scored sidecar.

Reads top to bottom, like a diffusers pipeline:
    check_inputs -> portrait renderer (avatar or photo) -> speech (synthesised from text, or a WAV)
    -> mouth (visemes or the learned audio model) -> animate (expression, blinks, gaze, head)
    -> render frames, streamed to the encoder while the real landmarker and a scorer measure them
       (in a worker process, emogen.talking.meter)
    -> mp4 + sidecar JSON (+ motion-track CSV/JSON), all three appearing together or not at all.

An emotion arc longer than the speech is cut at the speech's end (its later keyframes never show) and
the result says so in ``warnings``; an arc that ends earlier holds its last emotion to the end.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.talking.animate import Animation, animate
from emogen.talking.envelope import rms_envelope
from emogen.talking.expression import frames_for
from emogen.talking.meter import BackgroundMeter, identity_frames
from emogen.talking.speech_input import SpeechInput, mouth_track, speech_from_text, speech_from_wav
from emogen.talking.tracks import MotionTracks, check_track_path

SIZES = (64, 512)  # 256 and 512 are the sizes measured; smaller ones serve quick previews and tests


@dataclass(eq=False)
class TalkResult:
    """What `talk` made: the motion, the speech, the measurements, and where the files went."""

    tracks: MotionTracks
    speech: SpeechInput
    animation: Animation
    portrait: str
    size: int
    mouth_method: str
    inputs: dict
    scores: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    out: Path | None = None
    sidecar: Path | None = None
    blendshapes_file: Path | None = None
    frames: np.ndarray | None = None  # (n, H, W, 3) only when asked for (keep_frames=True)
    mix: np.ndarray | None = None  # speech with the soundtrack under it (what the mp4 carries), if asked for
    soundtrack: dict | None = None  # how the soundtrack was made and scored

    @property
    def duration(self) -> float:
        return self.speech.duration

    @property
    def real_time_factor(self) -> float:
        """Wall time of the whole call (synthesis, animation, rendering, encoding, scoring) / duration."""
        return self.seconds.get("total", 0.0) / max(self.duration, 1e-9)

    def to_dict(self) -> dict:
        """The sidecar JSON."""
        fps = self.tracks.fps
        arc = EmotionArc.parse(self.inputs["emotion_arc"])
        targets = [
            {"frame": f, "time": round(f / fps, 4), "top": e.top, "valence": round(e.valence, 4),
             "arousal": round(e.arousal, 4)}
            for f, e in enumerate(arc.sample(fps, frames=self.tracks.n_frames))
        ]
        return {
            "inputs": self.inputs,
            "portrait": self.portrait,
            "size": self.size,
            "fps": fps,
            "n_frames": self.tracks.n_frames,
            "duration_s": round(self.duration, 4),
            "speech": {**self.speech.details, "source": self.speech.source,
                       "sample_rate": self.speech.sample_rate,
                       "phonemes": [p.to_dict() for p in self.speech.phonemes]},
            "mouth": self.mouth_method,
            "warnings": list(self.warnings),
            "scores": self.scores,
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "real_time_factor": round(self.real_time_factor, 4),
            "targets": targets,
            "tracks": self.tracks.to_dict(),
            "soundtrack": self.soundtrack,
        }


def talk(
    portrait: str | object = "avatar",
    *,
    text: str | None = None,
    audio: str | Path | None = None,
    speech: SpeechInput | None = None,
    emotion: str | Emotion | EmotionArc = "neutral",
    out: str | Path | None = None,
    blendshapes: str | Path | None = None,
    fps: float = 25.0,
    size: int = 256,
    seed: int = 0,
    engine: str = "espeak",
    voice: str | None = None,
    audio_model=None,
    score: bool = True,
    keep_frames: bool = False,
    soundtrack: bool = False,
) -> TalkResult:
    """Animate ``portrait`` ('avatar', 'avatar:SEED', an image path/array, or a renderer object with
    ``render(blendshapes, pose)``) speaking ``text`` (synthesised) or ``audio`` (a WAV) with ``emotion``.
    ``speech`` (a SpeechInput from ``speech_from_text`` / ``speech_from_wav``) reuses speech already made,
    e.g. to animate one recording with several emotions.

    Writes ``out`` (.mp4, H.264 + AAC) with ``out``.json beside it, and ``blendshapes`` (.csv in the Live
    Link Face layout, or .json) when given. With ``out=None`` nothing is written; pass ``keep_frames``
    to get the frames back in ``result.frames``. ``soundtrack`` mixes music that follows the same emotion
    (emogen.music) under the speech, ducked while the person speaks; lip sync is still measured against the
    speech alone.
    """
    started = time.perf_counter()
    fps, size, arc, out, blendshapes = check_inputs(text, audio, speech, emotion, out, blendshapes, fps, size, seed)
    renderer = make_portrait(portrait, size, seed)
    job = _Job(renderer, arc, fps, size, seed, out, blendshapes, audio_model, keep_frames, started, soundtrack, inputs={
        "portrait": _describe(renderer, portrait), "text": text, "audio": None if audio is None else str(audio),
        "emotion": emotion if isinstance(emotion, str) else None, "emotion_arc": arc.to_dict(),
        "fps": fps, "size": size, "seed": seed, "engine": engine if text is not None else None,
        "voice": voice if text is not None else None})
    # A recording is read and checked before anything slow starts; then the meter's worker process loads
    # its models on the other core while this one loads the audio model or synthesises the speech.
    clock = time.perf_counter()
    if audio is not None:
        speech = speech_from_wav(audio)
    meter = BackgroundMeter(getattr(renderer, "kind", "") == "avatar") if score else None
    try:
        if text is None and not speech.phonemes:
            # A missing checkpoint fails now, before anything slow.
            from emogen.talking.audio_mouth import load_model

            job.audio_model = load_model(audio_model)
        if speech is None:
            speech = speech_from_text(text, arc, engine, voice)
        job.seconds["speech"] = time.perf_counter() - clock
        return _animate_and_render(job, speech, meter)
    finally:
        if meter is not None:
            meter.abort()


@dataclass(eq=False)
class _Job:
    """One call's settings, checked, and the clock."""

    renderer: object
    arc: EmotionArc
    fps: float
    size: int
    seed: int
    out: Path | None
    blendshapes: Path | None
    audio_model: object
    keep_frames: bool
    started: float
    soundtrack: bool
    inputs: dict
    seconds: dict = field(default_factory=dict)


def _animate_and_render(job: _Job, speech: SpeechInput, meter: BackgroundMeter | None) -> TalkResult:
    fps, seconds = job.fps, job.seconds
    n_frames = frames_for(speech.duration, fps)
    warnings = list(getattr(job.renderer, "warnings", ()))
    if job.arc.duration > speech.duration:
        warnings.append(f"the emotion arc runs to {job.arc.duration:g} s but the speech ends at {speech.duration:.2f} s: "
                        "the arc was cut there (later keyframes are not shown)")

    clock = time.perf_counter()
    mouth, mouth_method = mouth_track(speech, fps, n_frames, job.audio_model)
    envelope = rms_envelope(speech.audio, speech.sample_rate, fps, n_frames)
    animation = animate(mouth, job.arc, fps, envelope, job.seed,
                        prototypes=getattr(job.renderer, "expression_prototypes", None))
    seconds["motion"] = time.perf_counter() - clock

    result = TalkResult(animation.tracks, speech, animation, job.inputs["portrait"], job.size, mouth_method, job.inputs,
                        warnings=tuple(warnings), out=job.out)
    if job.soundtrack:
        from emogen.music.soundtrack import soundtrack

        clock = time.perf_counter()
        music = soundtrack(job.arc, speech.duration, speech.sample_rate, job.seed)
        result.mix, result.soundtrack = music.under(speech.audio), music.record
        seconds["soundtrack"] = time.perf_counter() - clock
    if meter is not None:
        meter.begin(job.arc, fps, n_frames)
    kept: list | None = [] if job.keep_frames else None
    frames = render_frames(job.renderer, animation.tracks, meter, seconds, kept, animation.activity)
    if job.out is None:
        for _ in frames:
            pass
        _finish(result, meter, envelope, seconds, job.started)
    else:
        _write(result, frames, job.out, job.blendshapes, meter, envelope, seconds, job.started)
    if kept is not None:
        result.frames = np.stack(kept)
    return result


def check_inputs(text, audio, speech, emotion, out, blendshapes, fps, size, seed):
    from emogen.videofile import check_fps

    if sum(x is not None for x in (text, audio, speech)) != 1:
        raise EmotionError("give exactly one of text (to speak), audio (a WAV file to lip-sync) or speech (a SpeechInput)")
    if speech is not None and not isinstance(speech, SpeechInput):
        raise EmotionError(f"speech must be a SpeechInput (emogen.talking.speech_input), got {type(speech).__name__}")
    fps = check_fps(fps)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not SIZES[0] <= size <= SIZES[1]:
        raise EmotionError(f"size must be an integer from {SIZES[0]} to {SIZES[1]} px (256 or 512 for real use), got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EmotionError(f"seed must be an integer >= 0, got {seed!r}")
    arc = EmotionArc.parse(emotion)
    if out is not None:
        out = Path(out)
        if out.suffix.lower() != ".mp4":
            raise EmotionError(f"the output video must be an .mp4 file, got {str(out)!r}")
    if blendshapes is not None:
        blendshapes = check_track_path(blendshapes)
        if out is None:
            raise EmotionError("writing motion tracks (blendshapes=...) needs an output video path too")
        if blendshapes.resolve() in (out.resolve(), out.with_suffix(".json").resolve()):
            raise EmotionError(f"the motion-track file {blendshapes} would overwrite the video or its sidecar")
    return fps, int(size), arc, out, blendshapes


def make_portrait(portrait, size: int, seed: int):
    """'avatar' / 'avatar:SEED' -> the EmoFaces avatar; an image (path, array, PIL) -> the photo renderer;
    an object with ``render`` is used as it is."""
    from emogen.talking.avatar_render import AvatarPortrait

    if hasattr(portrait, "render"):
        return portrait
    if isinstance(portrait, str) and (portrait == "avatar" or portrait.startswith("avatar:")):
        _, _, identity = portrait.partition(":")
        if identity and not identity.isdigit():
            raise EmotionError(f"portrait {portrait!r}: write 'avatar' or 'avatar:SEED' with SEED a whole number >= 0")
        return AvatarPortrait(int(identity) if identity else seed, size)
    try:
        from emogen.talking.photo import PhotoPortrait
    except ImportError as err:
        raise EmotionError(f"photo portraits need emogen.talking.photo, which is not available ({err})") from None
    return PhotoPortrait(portrait, size=size)


def _describe(renderer, portrait) -> str:
    """'avatar:SEED', the photo's path, or the renderer's class for arrays and renderer objects."""
    if hasattr(renderer, "describe"):
        return renderer.describe()
    if isinstance(portrait, (str, Path)):
        return str(portrait)
    return type(renderer).__name__


# ----- rendering and measuring ----------------------------------------------------------------------
def render_frames(renderer, tracks: MotionTracks, meter: BackgroundMeter | None = None, seconds: dict | None = None,
                  kept: list | None = None, activity: np.ndarray | None = None):
    """Yield one HxWx3 uint8 frame per track frame (the meter sees each one as it passes; ``kept``
    collects them when given). ``activity``: the speech activity per frame, passed to renderers whose
    ``render`` takes ``speaking`` (the photo renderer's teeth depend on it)."""
    seconds = {} if seconds is None else seconds
    seconds.setdefault("render", 0.0)
    # Renderers need not be thread-safe: the neutral references for the identity check are drawn here too.
    references = identity_frames(tracks.n_frames) if meter is not None else set()
    neutral = np.zeros(tracks.blendshapes.shape[1], np.float32)
    speech_aware = activity is not None and "speaking" in inspect.signature(renderer.render).parameters
    for index in range(tracks.n_frames):
        clock = time.perf_counter()
        pose = tuple(float(v) for v in tracks.head_pose[index])
        speech = {"speaking": float(activity[index])} if speech_aware else {}
        frame = renderer.render(tracks.blendshapes[index], pose, **speech)
        reference = renderer.render(neutral, pose) if index in references else None
        seconds["render"] += time.perf_counter() - clock
        if meter is not None:
            meter.see(index, frame, reference)
        if kept is not None:
            kept.append(frame)
        yield frame


def _finish(result: TalkResult, meter: BackgroundMeter | None, envelope: np.ndarray, seconds: dict,
            started: float) -> None:
    if meter is not None:
        clock = time.perf_counter()
        result.scores, seconds["scoring_thread_busy"] = meter.finish(envelope)
        expression = result.scores.get("expression", {})
        if "scored_frames" in expression:
            from emogen.talking.lipsync import accuracy_while_speaking

            expression.update(accuracy_while_speaking(expression, result.animation.activity))
        seconds["scoring_wait"] = time.perf_counter() - clock  # what measuring added to the wall time
        seconds["scoring_cpu"] = meter.cpu_s  # CPU seconds of the meter's worker for this clip
    seconds["total"] = time.perf_counter() - started
    result.seconds = seconds


def _write(result: TalkResult, frames, out: Path, blendshapes: Path | None, meter, envelope, seconds, started) -> None:
    """The mp4, its sidecar and the track file, each written to a temporary name and renamed only
    when all of them are complete: a failure anywhere leaves no partial file and old files intact."""
    from emogen.io import atomic_output
    from emogen.videofile import write_video

    sidecar = out.with_suffix(".json")
    with contextlib.ExitStack() as stack:
        video_tmp = stack.enter_context(atomic_output(out))
        json_tmp = stack.enter_context(atomic_output(sidecar))
        tracks_tmp = stack.enter_context(atomic_output(blendshapes)) if blendshapes is not None else None
        clock = time.perf_counter()
        audio = result.speech.audio if result.mix is None else result.mix
        write_video(video_tmp, frames, result.tracks.fps, audio, result.speech.sample_rate)
        seconds["render_and_encode"] = time.perf_counter() - clock
        _finish(result, meter, envelope, seconds, started)
        if tracks_tmp is not None:
            tracks_tmp.write_text(result.tracks.to_text(blendshapes.suffix))
        json_tmp.write_text(json.dumps(result.to_dict(), ensure_ascii=False))
    result.sidecar = sidecar
    result.blendshapes_file = blendshapes
