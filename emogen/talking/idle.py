"""The motion a face makes besides speaking and emoting: blinks, gaze shifts, head movement.

All three are random processes with natural timing, seeded: the same seed gives the same motion.
Each draws from its own child stream of the seed, so changing (say) the blink rate leaves the head
motion of a clip as it was. Numbers with a source cite it; the rest are marked as our choices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter1d

from emogen.face.rig import BLENDSHAPE_INDEX, NUM_BLENDSHAPES


@dataclass(frozen=True)
class IdleConfig:
    # Spontaneous blink rate: 17/min at rest, 26/min in conversation (Bentivoglio et al. 1997, "Analysis
    # of blink rate patterns in normal subjects", Movement Disorders 12(6):1028-1034). A talking head talks.
    blinks_per_minute: float = 26.0
    # Blink rate rises with arousal and anxiety and falls with calm attention (Stern, Walrath & Goldstein
    # 1984, "The endogenous eyeblink", Psychophysiology 21:22-33); the +-40% at the extremes is our choice.
    blink_arousal_gain: float = 0.4
    # Intervals between blinks: gamma with shape 2 (less bursty than a Poisson process, never two blinks
    # at once) and at least this gap; our choice for the shape, within the spread Bentivoglio reports.
    blink_interval_shape: float = 2.0
    min_blink_gap_s: float = 0.6
    # A blink lasts about 100-400 ms (Schiffman 2001, Sensation and Perception 5th ed.; BioNumbers 100706);
    # the lid comes down in about a third of that and goes up more slowly (Evinger, Manning & Sibony 1991,
    # "Eyelid movements: mechanisms and normal data", Invest. Ophthalmol. Vis. Sci. 32:387-400).
    blink_duration_s: tuple[float, float] = (0.1, 0.4)
    blink_median_s: float = 0.2
    blink_closing_fraction: float = 0.35
    # Gaze of a speaker: fixations on the listener (the camera) with shifts away and back. Saccade duration
    # grows linearly with amplitude, about 2.2 ms/deg + 21 ms (Lee, Badler & Badler 2002, "Eyes Alive",
    # SIGGRAPH, after Baloh et al. 1975); in the speaking mode of that model, mutual gaze holds ~1-3 s.
    mean_fixation_s: float = 1.8
    gaze_return_probability: float = 0.6  # our choice: most shifts away come back to the listener
    mean_saccade_deg: float = 6.0  # magnitudes fall off roughly exponentially (Lee et al. 2002), mostly < 15 deg
    max_saccade_deg: float = 15.0
    saccade_ms_per_deg: float = 2.2
    saccade_base_ms: float = 21.0
    eye_look_full_deg: float = 30.0  # gaze angle that drives an eyeLook blendshape to 1 (our choice)
    # Head: a speaker's head moves nearly all the time in small slow excursions, with larger quick
    # movements at stressed syllables (Hadar, Steiner, Grant & Rose 1983, "Head movement correlates of
    # juncture and stress at sentence level", Language and Speech 26:117-129; Munhall et al. 2004, "Visual
    # prosody and speech intelligibility", Psychological Science 15:133-137). Amplitudes are our choices,
    # in degrees of standard deviation; aroused speech moves the head more (Busso et al. 2007, "Rigid head
    # motion in expressive speech animation", IEEE TASLP 15).
    head_sway_deg: tuple[float, float, float] = (2.5, 1.5, 1.0)  # yaw, pitch, roll
    head_sway_period_s: float = 0.6  # smoothing of the noise: excursions of about 2-4 s
    nod_deg: float = 2.5  # pitch per unit of the normalised stress envelope
    head_arousal_gain: float = 0.5
    # A talking head stays within a natural conversational range (and every renderer's limits); the
    # pitch range takes a sad speaker's bowed head (expression.EMOTION_POSTURES) with its nods.
    head_limits_deg: tuple[float, float, float] = (25.0, 20.0, 15.0)


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    blink, gaze, head = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(blink), np.random.default_rng(gaze), np.random.default_rng(head)


def blink_track(n_frames: int, fps: float, arousal: np.ndarray, seed: int, config: IdleConfig = IdleConfig()) -> np.ndarray:
    """(n_frames,) eyelid closure in [0, 1] from spontaneous blinks (both eyes blink together)."""
    rng = _streams(seed)[0]
    arousal = np.broadcast_to(np.asarray(arousal, dtype=np.float64), (n_frames,))
    duration = n_frames / fps
    closure = np.zeros(n_frames)
    frame_times = np.arange(n_frames) / fps
    low, high = config.blink_duration_s
    t = float(rng.uniform(0.3, 1.5))  # nobody blinks on the very first frame
    while t < duration:
        length = float(np.clip(rng.lognormal(np.log(config.blink_median_s), 0.3), low, high))
        # Peak on a frame, so that even a 100 ms blink shows as a closed eye at 25 fps.
        peak = round(t * fps) / fps
        down = config.blink_closing_fraction * length
        up = length - down
        u = np.where(frame_times <= peak, 1.0 - (peak - frame_times) / down, 1.0 - (frame_times - peak) / up)
        closure = np.maximum(closure, _smoothstep(np.clip(u, 0.0, 1.0)))
        rate = config.blinks_per_minute * (1.0 + config.blink_arousal_gain * arousal[min(int(t * fps), n_frames - 1)])
        mean_gap = 60.0 / max(rate, 1.0)
        gap = rng.gamma(config.blink_interval_shape, mean_gap / config.blink_interval_shape)
        t += max(config.min_blink_gap_s, float(gap))
    return closure


def gaze_track(n_frames: int, fps: float, seed: int, config: IdleConfig = IdleConfig()) -> np.ndarray:
    """(n_frames, 2) gaze (horizontal, vertical) in degrees: fixations joined by saccades."""
    rng = _streams(seed)[1]
    duration = n_frames / fps
    times, targets = [0.0], [np.zeros(2)]
    t, current = 0.0, np.zeros(2)
    while t < duration:
        t += float(rng.gamma(2.0, config.mean_fixation_s / 2.0))
        if np.linalg.norm(current) > 0.5 and rng.random() < config.gaze_return_probability:
            target = rng.normal(0.0, 0.7, 2)  # back to the listener, with a little scatter
        else:
            angle = rng.uniform(0, 2 * np.pi)
            size = min(config.max_saccade_deg, float(rng.exponential(config.mean_saccade_deg)))
            target = current * 0.3 + size * np.array([np.cos(angle), 0.6 * np.sin(angle)])
            target = np.clip(target, -config.max_saccade_deg, config.max_saccade_deg)
        times.append(t)
        targets.append(target)
        current = target
    gaze = np.zeros((n_frames, 2))
    frame_times = np.arange(n_frames) / fps
    for start, before, after in zip(times[1:], targets[:-1], targets[1:]):
        amplitude = float(np.linalg.norm(after - before))
        length = (config.saccade_base_ms + config.saccade_ms_per_deg * amplitude) / 1000.0
        u = _smoothstep(np.clip((frame_times - start) / length, 0.0, 1.0))[:, None]
        gaze = np.where(frame_times[:, None] >= start, before + u * (after - before), gaze)
    return gaze


def head_track(n_frames: int, fps: float, envelope: np.ndarray, arousal: np.ndarray, seed: int,
               config: IdleConfig = IdleConfig(), posture: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 3) head yaw/pitch/roll in degrees: slow sway plus nods on the speech's stresses,
    about ``posture`` ((n_frames, 3) or (3,) degrees: the emotion's, expression.posture_track; None: upright)."""
    rng = _streams(seed)[2]
    arousal = np.broadcast_to(np.asarray(arousal, dtype=np.float64), (n_frames,))
    sigma = config.head_sway_period_s * fps
    # Pad before filtering so the sway near the clip's ends is as large as in its middle.
    pad = int(4 * sigma) + 1
    noise = rng.standard_normal((n_frames + 2 * pad, 3))
    # White noise through a Gaussian of std sigma samples has std (2 sqrt(pi) sigma)^-1/2: divide it out.
    sway = gaussian_filter1d(noise, sigma=sigma, axis=0)[pad:pad + n_frames] * np.sqrt(2 * np.sqrt(np.pi) * sigma)
    pose = sway * np.array(config.head_sway_deg)
    pose[:, 1] += config.nod_deg * stress_envelope(envelope, fps)
    pose *= (1.0 + config.head_arousal_gain * arousal)[:, None]
    if posture is not None:
        pose += posture
    limits = np.array(config.head_limits_deg)
    return np.clip(pose, -limits, limits)


def stress_envelope(envelope: np.ndarray, fps: float) -> np.ndarray:
    """(n,) >= 0: how far the loudness rises above its running mean, normalised to about unit peaks.

    Stressed syllables are the loud peaks of the envelope; subtracting a one-second mean keeps a loud
    speaker from holding the head down throughout.
    """
    envelope = np.asarray(envelope, dtype=np.float64)
    if envelope.size == 0 or envelope.max() <= 0:
        return np.zeros_like(envelope)
    level = gaussian_filter1d(envelope / envelope.max(), sigma=max(0.06 * fps, 1e-3), mode="nearest")
    running = uniform_filter1d(level, size=max(1, int(round(fps))), mode="nearest")
    rise = np.clip(level - running, 0.0, None)
    peak = np.percentile(rise, 95)
    return np.clip(rise / peak, 0.0, 1.5) if peak > 1e-9 else np.zeros_like(rise)


def apply_eyes(blendshapes: np.ndarray, blink: np.ndarray, gaze: np.ndarray, config: IdleConfig = IdleConfig()) -> np.ndarray:
    """Blinks and gaze laid over an (n, 52) track: a blink closes the lid from wherever it is; gaze
    adds to the eyeLook channels (an emotion's downcast eyes stay downcast between glances)."""
    out = np.array(blendshapes, dtype=np.float64, copy=True)
    if out.ndim != 2 or out.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(f"blendshapes must be (n, 52), got {out.shape}")
    for side in ("Left", "Right"):
        lid = BLENDSHAPE_INDEX[f"eyeBlink{side}"]
        out[:, lid] = out[:, lid] + (1.0 - out[:, lid]) * blink
    full = config.eye_look_full_deg
    right, up = gaze[:, 0] / full, gaze[:, 1] / full
    # Looking to the image's right turns the subject's left eye outwards and the right eye inwards.
    looks = {"eyeLookOutLeft": right, "eyeLookInRight": right, "eyeLookInLeft": -right, "eyeLookOutRight": -right,
             "eyeLookUpLeft": up, "eyeLookUpRight": up, "eyeLookDownLeft": -up, "eyeLookDownRight": -up}
    for name, amount in looks.items():
        index = BLENDSHAPE_INDEX[name]
        out[:, index] = out[:, index] + np.clip(amount, 0.0, None)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _smoothstep(u: np.ndarray) -> np.ndarray:
    return u * u * (3.0 - 2.0 * u)
