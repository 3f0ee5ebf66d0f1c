"""Talking head (issue 7): speed, lip sync on the output frames, avatar expression accuracy, emotion swap.

* Real-time factor at 256 px, 25 fps: the whole `emogen talk` as a fresh process (start-up, synthesis,
  animation, rendering, encoding and the measurements on every frame) over the clip's duration; and the
  same inside one warm Python process, with and without the measurements.
* Lip sync: MediaPipe's landmarker reads the inner-lip gap off every output frame; Pearson r with the
  audio's RMS envelope per frame at the best lag in +-10 frames (emogen.talking.lipsync). Reported for
  the viseme path (text spoken by emogen) and, when its checkpoint exists, the learned audio path.
* Avatar expression accuracy: the EmoFaces scorer (MEAD-8) on the frames of clips spoken with each of
  the 8 categories (prosody follows the emotion too), over three avatar identities.
* Emotion swap: one fixed recording (neutral speech), animated with each of the 8 emotions: lip sync
  should stay, the expression score should follow the target.
* A second lip-sync reference, reported beside the issue's RMS measure (never instead of it): the same
  openings against a 10 Hz low-passed amplitude envelope (Chandrasekaran et al. 2009). The mouth's
  opening is scaled by the RMS loudness (emogen.talking.effort), so part of the RMS r is by construction.
The numbers are measured as they come; none of them is tuned here.
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emogen.benchmark import Metric, run_benchmark  # noqa: E402
from emogen.emotion import EmotionArc  # noqa: E402
from emogen.talking import talk  # noqa: E402
from emogen.talking.speech_input import SpeechInput, speech_from_text  # noqa: E402

CATEGORIES = ("neutral", "joy", "sadness", "anger", "fear", "disgust", "surprise", "contempt")
SENTENCES = (
    "Nobody had seen the boat since Monday, but we found it at last.",
    "Please put the map back where you found it before the meeting.",
    "I never thought the weather would change so quickly in the hills.",
    "We waited by the window for an hour, and then the bus finally came.",
)
LONG_TEXT = " ".join(SENTENCES * 2)  # about 20 s of speech
IDENTITIES = (1, 4, 7)
SIZE, FPS = 256, 25
FRESH_RUNS = 3


def cli_real_time_factor(folder: Path) -> tuple[float, float, float, float]:
    """Wall time of `emogen talk` in a fresh process / clip duration; the duration; the RTF talk() itself
    reports; and the CPU seconds (user + system, all threads and ffmpeg) per second of video."""
    out = folder / "long.mp4"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "emogen.cli", "talk", "--portrait", "avatar:1", "--text", LONG_TEXT,
                             "--emotion", "joy", "--out", str(out), "--size", str(SIZE), "--fps", str(FPS)],
                            capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sidecar = json.loads(out.with_suffix(".json").read_text())
    duration = sidecar["duration_s"]
    return wall / duration, duration, sidecar["real_time_factor"], cpu / duration


def warm_real_time_factors() -> tuple[float, float, dict, dict, tuple[float, float]]:
    """Warm RTF with and without the measurements, their stage seconds per second of video, and the
    load average before each of the two timed calls."""
    talk("avatar:1", text=SENTENCES[0], emotion="joy", size=SIZE, score=True)  # load everything once
    load_scored = os.getloadavg()[0]
    with_scores = talk("avatar:1", text=LONG_TEXT, emotion="joy", size=SIZE, fps=FPS, score=True)
    load_plain = os.getloadavg()[0]
    without = talk("avatar:1", text=LONG_TEXT, emotion="joy", size=SIZE, fps=FPS, score=False)
    return (with_scores.real_time_factor, without.real_time_factor, stage_profile(with_scores),
            stage_profile(without), (load_scored, load_plain))


def stage_profile(result) -> dict:
    """talk()'s own stage clock (emogen.talking.pipeline), in seconds per second of video."""
    return {k: v / result.duration for k, v in result.seconds.items()}


def profile_note(profile: dict) -> str:
    names = {"speech": "speech", "motion": "motion", "render": "render", "render_and_encode": "render+encode",
             "scoring_wait": "wait for meter", "scoring_cpu": "meter CPU (worker)", "total": "total"}
    return ", ".join(f"{label} {profile[key]:.3f}" for key, label in names.items() if key in profile)


def lowpass_lip_sync(results) -> tuple[float, float]:
    """Mean r and mean |lag| of the landmarker's openings against the low-passed envelope (second reference)."""
    from emogen.talking.envelope import lowpass_envelope
    from emogen.talking.lipsync import lip_sync

    rs, lags = [], []
    for result in results:
        openings = np.array([np.nan if v is None else v for v in result.scores["mouth_opening"]], np.float64)
        reference = lowpass_envelope(result.speech.audio, result.speech.sample_rate, result.tracks.fps, len(openings))
        sync = lip_sync(openings, reference)
        rs.append(sync.correlation)
        lags.append(abs(sync.lag_frames))
    return float(np.mean(rs)), float(np.mean(lags))


def lip_sync_over(results) -> tuple[float, float, float]:
    """Mean r at the best lag, mean |lag|, share of clips with |lag| <= 1."""
    syncs = [r.scores["lip_sync"] for r in results]
    rs = [s["correlation"] for s in syncs]
    lags = [abs(s["lag_frames"]) for s in syncs]
    return float(np.mean(rs)), float(np.mean(lags)), float(np.mean([lag <= 1 for lag in lags]))


def frame_breakdown(results) -> tuple[float, float]:
    """Frame accuracy on frames at rest (lips together, eyes open) and on the others."""
    from emogen.talking.visemes import lip_opening

    rest, other = [], []
    for result in results:
        expression = result.scores["expression"]
        targets = [e.top for e in EmotionArc.parse(result.inputs["emotion_arc"]).sample(
            result.tracks.fps, frames=result.tracks.n_frames)]
        opening = lip_opening(result.tracks.blendshapes)
        for frame, top in zip(expression["scored_frames"], expression["frame_tops"]):
            at_rest = opening[frame] < 0.02 and result.animation.blink[frame] < 0.1
            (rest if at_rest else other).append(top == targets[frame])
    return float(np.mean(rest)), float(np.mean(other))


def measure() -> list[Metric]:
    load = os.getloadavg()[0]
    metrics: list[Metric] = []
    with tempfile.TemporaryDirectory(prefix="bench-talking-") as scratch:
        folder = Path(scratch)
        # The first run after an install also writes the caches every later run reads (numba's compiled
        # librosa kernels, .pyc files, the OS file cache): reported apart; the target row is the median
        # of the next FRESH_RUNS fresh processes.
        first_rtf = cli_real_time_factor(folder)[0]
        runs = sorted((cli_real_time_factor(folder) for _ in range(FRESH_RUNS)), key=lambda run: run[0])
        cli_rtf, duration, inside_rtf, cpu_per_second = runs[len(runs) // 2]
        metrics.append(Metric("real-time factor, `emogen talk` fresh process (256 px, 25 fps, scored)", round(cli_rtf, 3),
                              "x", "<= 0.5", f"{duration:.1f} s clip incl. Python start-up and model loading; median "
                                             f"of {FRESH_RUNS} fresh processes ({', '.join(f'{r[0]:.3f}' for r in runs)}); "
                                             f"{inside_rtf:.3f} counted from inside talk(); load average "
                                             f"{load:.1f} on {os.cpu_count()} cores when started; one run before them "
                                             f"{first_rtf:.3f} (on a fresh install it also writes the caches)"))
        metrics.append(Metric("CPU time of that `emogen talk` per second of video", round(cpu_per_second, 3), "cpu-s/s",
                              None, "user + system over all its threads and ffmpeg; independent of other load: "
                                    "on 2 idle cores the wall-clock RTF cannot go below half of this"))
        warm_scored, warm_plain, profile_scored, profile_plain, loads = warm_real_time_factors()
        metrics.append(Metric("real-time factor, warm process, scored", round(warm_scored, 3), "x", None,
                              f"models already loaded (a UI or batch session); load average {loads[0]:.1f}; "
                              f"seconds per second of video: {profile_note(profile_scored)}"))
        metrics.append(Metric("real-time factor, warm process, no measurements", round(warm_plain, 3), "x", None,
                              f"generation only: synthesis, motion, rendering, encoding; load average {loads[1]:.1f}; "
                              f"seconds per second of video: {profile_note(profile_plain)}"))

        # Lip sync and expression: each category spoken (prosody follows it), three identities, visemes.
        by_category: dict[str, list] = {c: [] for c in CATEGORIES}
        for index, category in enumerate(CATEGORIES):
            for identity in IDENTITIES:
                text = SENTENCES[(index + identity) % len(SENTENCES)]
                by_category[category].append(talk(f"avatar:{identity}", text=text, emotion=category, size=SIZE, fps=FPS,
                                                  seed=identity))
        every = [r for results in by_category.values() for r in results]
        r_mean, lag_mean, lag_ok = lip_sync_over(every)
        per_emotion = {c: float(np.mean([r.scores["lip_sync"]["correlation"] for r in results]))
                       for c, results in by_category.items()}
        metrics.append(Metric("lip-sync r (visemes from emogen speech), mean over clips", round(r_mean, 3), "", ">= 0.7",
                              f"{len(every)} clips, 8 emotions x 3 avatars; landmarker inner-lip gap vs RMS envelope; "
                              "mouth opening scaled by vocal effort (emogen.talking.effort); per emotion: "
                              + ", ".join(f"{c} {r:.2f}" for c, r in per_emotion.items())))
        metrics.append(Metric("lip-sync |lag| (visemes), mean", round(lag_mean, 2), "frames", "<= 1",
                              f"share of clips with |lag| <= 1: {lag_ok:.2f}"))
        second_r, second_lag = lowpass_lip_sync(every)
        metrics.append(Metric("lip-sync r (visemes) vs a 10 Hz low-passed envelope, second reference",
                              round(second_r, 3), "", None, f"same openings and clips; Hilbert envelope low-passed at 10 Hz "
                                        f"(Chandrasekaran et al. 2009); mean |lag| {second_lag:.2f} frames. "
                                        "Reported beside the RMS measure above, not instead of it"))
        accuracy = {c: float(np.mean([r.scores["expression"]["accuracy"] for r in results]))
                    for c, results in by_category.items()}
        metrics.append(Metric("avatar expression accuracy, 8 classes (EmoFaces scorer on frames)",
                              round(float(np.mean(list(accuracy.values()))), 4), "", ">= 0.9",
                              "per class: " + ", ".join(f"{c} {a:.2f}" for c, a in accuracy.items())))
        clip = {c: float(np.mean([r.scores["expression"]["clip_correct"] for r in results]))
                for c, results in by_category.items()}
        metrics.append(Metric("avatar expression accuracy, 8 classes, per clip (mean probabilities' top)",
                              round(float(np.mean(list(clip.values()))), 4), "", None,
                              f"{len(every)} clips; per class: " + ", ".join(f"{c} {a:.2f}" for c, a in clip.items())))
        resting, moving = frame_breakdown(every)
        metrics.append(Metric("avatar frame accuracy where lips are together and eyes open", round(resting, 4), "",
                              None, f"vs {moving:.4f} on frames with parted lips or a blink (the scorer's training "
                                    "stills include speaking mouths and blinks)"))
        identity = [r.scores["identity"] for r in every]
        metrics.append(Metric("identity: face SSIM vs neutral frame at the same pose", round(float(np.mean(
            [i["face_ssim"] for i in identity])), 3), "", None, "avatar; lower = the expression changes more pixels"))
        metrics.append(Metric("identity: rigid-landmark shape distance vs neutral", round(float(np.mean(
            [i["shape_distance_interocular"] for i in identity])), 4), "inter-ocular", None,
            "Procrustes RMS of oval/nose/eye-corner points"))

        # Emotion swap on one recording (the same audio and phoneme timings for every emotion).
        swap = {c: talk("avatar:4", speech=neutral_short(), emotion=c, size=SIZE, fps=FPS, seed=4) for c in CATEGORIES}
        metrics += swap_metrics("visemes", swap)
        if audio_model_available():
            recording = neutral_short()
            wav_speech = SpeechInput(recording.audio, recording.sample_rate, "audio", (), {"audio_file": "(in memory)"})
            learned = {c: talk("avatar:4", speech=wav_speech, emotion=c, size=SIZE, fps=FPS, seed=4) for c in CATEGORIES}
            r_mean, lag_mean, lag_ok = lip_sync_over(learned.values())
            second_r, _ = lowpass_lip_sync(learned.values())
            metrics.append(Metric("lip-sync r (learned audio-to-mouth model), mean over the swap clips", round(r_mean, 3),
                                  "", ">= 0.7", f"mean |lag| {lag_mean:.2f} frames; share |lag| <= 1: {lag_ok:.2f}; "
                                                f"vs the 10 Hz low-passed envelope (second reference): r {second_r:.3f}"))
            metrics += swap_metrics("learned audio model", learned)
        else:
            metrics.append(Metric("lip-sync r (learned audio-to-mouth model)", "not measured", "", None,
                                  "no checkpoint at checkpoints/talking-audio2mouth"))
    return metrics


_NEUTRAL_SHORT: list[SpeechInput] = []


def neutral_short() -> SpeechInput:
    """One neutral recording of two sentences, made once (so every swap clip gets identical audio)."""
    if not _NEUTRAL_SHORT:
        _NEUTRAL_SHORT.append(speech_from_text(" ".join(SENTENCES[:2]), "neutral"))
    return _NEUTRAL_SHORT[0]


def swap_metrics(mouth: str, results: dict) -> list[Metric]:
    rs = {c: r.scores["lip_sync"]["correlation"] for c, r in results.items()}
    lags = {c: r.scores["lip_sync"]["lag_frames"] for c, r in results.items()}
    hits = {c: r.scores["expression"]["accuracy"] for c, r in results.items()}
    table = "; ".join(f"{c}: r {rs[c]:.2f} lag {lags[c]:+d} acc {hits[c]:.2f}" for c in results)
    return [
        Metric(f"emotion swap ({mouth}): lip-sync r spread (max - min over 8 emotions)",
               round(max(rs.values()) - min(rs.values()), 3), "", None, table),
        Metric(f"emotion swap ({mouth}): expression accuracy, mean over 8 emotions",
               round(float(np.mean(list(hits.values()))), 4), "", ">= 0.9", "same audio for every emotion"),
    ]


def audio_model_available() -> bool:
    from emogen.errors import EmotionError
    from emogen.talking.audio_mouth import checkpoint_path

    try:
        checkpoint_path()
    except EmotionError:
        return False
    return True


if __name__ == "__main__":
    run_benchmark("talking", "Talking head (issue 7): real-time factor, lip sync measured by MediaPipe's landmarker on "
                  "the output frames, avatar expression accuracy (EmoFaces scorer), emotion swap on one recording.",
                  measure)
