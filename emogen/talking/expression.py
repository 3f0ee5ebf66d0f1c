"""Emotion at the sequence level, and how it is combined with the speaking mouth.

Content/emotion separation (EMOTE's insight, Danecek et al. 2023): the lips follow the speech frame
by frame, the emotion shapes the whole face over the sequence. ``expression_track`` turns an Emotion
or an EmotionArc into a smooth (n, 52) track with ``emogen.face.rig.emotion_to_blendshapes``;
``combine`` merges it with the speech mouth by one explicit rule, channel by channel:

* SPEECH_CHANNELS (jaw opening, lip closure and pressing, funnel, pucker, lip rolls, the lips'
  vertical raise/lower, chin shrug, tongue) belong to articulation. While the person speaks the
  speech value is used alone; the emotion's value only shows where speech is not active
  (``(1 - activity) * emotion``). Reason: these channels carry the phonemes. If emotion were added
  or max-ed in, surprise's dropped jaw (AU 26) or anger's pressed lips (AU 24) would hold the mouth
  open or shut through the words, and a bilabial /p b m/ would no longer close the lips: the visemes
  would be destroyed exactly where the audience reads them. In pauses the emotion's mouth returns
  (a surprised face gapes when it stops talking).
  Emotion still changes *how* the mouth articulates: speech values are multiplied by a gain that
  grows with arousal (excited speech is hyper-articulated, calm speech hypo-articulated). A product
  keeps every zero a zero, so a closure stays a closure whatever the emotion.
  Exception, HELD_LIP_CHANNELS: the centre lip raise and lower (mouthUpperUp*, mouthLowerDown*) are
  speech channels, but disgust's upper-lip raiser (AU 10) and lower-lip depressor (AU 16) live there
  too, and a disgusted speaker keeps the upper lip curled while talking. Without them a speaking
  disgusted face is brows, sneer and frown only, which reads as anger (measured on the avatar with the
  EmoFaces scorer: disgust frames with the lips together 0/22 read as disgust, 22/22 as anger). So on
  these channels the emotion's value is kept under the speech by max, except where the speech seals the
  lips (a bilabial: mouthClose = jawOpen), where it fades out with the seal, so /p b m/ still close.
  The lip funnel (mouthFunnel, AU 22: the photo renderer's surprise and anger round the lips) is held the
  same way at FUNNEL_UNDER_SPEECH of its value. Measured on the photo renderer's tuning portraits (talk()
  clips of one espeak sentence; FER2013 on the scored frames): anger frames read as anger 0.59 -> 0.67
  and surprise 0.16 -> 0.23 (LFW 40-54), anger 0.47 -> 0.58 (astronaut, LFW 41/45/52) with lip-sync r
  unchanged (0.76 -> 0.78 there); held in full (tried without the fade), anger reads 0.82 / 0.70 but
  lip-sync r falls to 0.63, so half. (Holding the emotion's dropped jaw under speech, the cue FER2013
  reads surprise by, lifts surprise frames 0.16 -> 0.63 only at a floor of 0.8 of it, where lip-sync r
  falls to 0.44: not done; speech keeps the jaw.)
* Exception, SPEECH_CAPPED_CHANNELS: the lip-corner depressor (mouthFrown*, AU 15; sadness 0.89,
  disgust 0.69) is an emotion channel, but while the person speaks it is held at most at
  FROWN_UNDER_SPEECH (full again in pauses). Reason, measured: the avatar draws a strong frown as an
  arched mouth whose closed lips the real landmarker reads as parted (sadness: inner-lip gap 0.126 of the eye
  width with the jaw shut) and whose measured opening does not follow the jaw (Pearson r of jaw vs
  re-measured gap over a 0-0.7 jaw sweep, 8 avatars: sadness 0.56, disgust 0.94; neutral 0.99). Held at
  0.4, the sweep reads 0.98 for both, the shut mouth 0.034 and 0.17, and the EmoFaces scorer still reads
  every one of those 96 frames as the target (brows, eyes, sneer and the lower lip carry it). So the
  lips follow the speech where a viewer (or a tracker) looks for them; the full frown returns when the
  speaker stops.
* Every other channel (brows, eyes, lids, cheeks, nose, and the lip *corners*: smile, frown,
  dimple, stretch, sideways mouth/jaw) belongs to the emotion. Where speech also writes one of them
  (a viseme may stretch the lips for /i/) the larger value is used, so neither removes the other's
  motion: a smile survives an /u/, and an /i/ still widens a sad mouth.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from emogen.emotion import Emotion, EmotionArc
from emogen.emotion.categories import get_set
from emogen.face.rig import (BLENDSHAPE_NAMES, NUM_BLENDSHAPES, RIG_CATEGORY_SET, emotion_to_blendshapes,
                             prototype_weights)

SPEECH_CHANNELS: tuple[str, ...] = (
    "jawOpen", "jawForward", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "mouthShrugLower", "mouthShrugUpper", "tongueOut",
)
EMOTION_CHANNELS: tuple[str, ...] = tuple(n for n in BLENDSHAPE_NAMES if n not in SPEECH_CHANNELS)
# Speech channels on which an emotion's lip shape (AU 10, AU 16: disgust) is held through speech (module doc).
HELD_LIP_CHANNELS: tuple[str, ...] = ("mouthUpperUpLeft", "mouthUpperUpRight", "mouthLowerDownLeft",
                                      "mouthLowerDownRight")
FUNNEL_UNDER_SPEECH = 0.5
# The fraction of the emotion's value each held speech channel keeps under speech.
_HELD_FRACTIONS = {**{name: 1.0 for name in HELD_LIP_CHANNELS}, "mouthFunnel": FUNNEL_UNDER_SPEECH}
# Emotion channels held at most at FROWN_UNDER_SPEECH while speaking (module doc: a strong frown hides
# whether the lips are apart).
SPEECH_CAPPED_CHANNELS: tuple[str, ...] = ("mouthFrownLeft", "mouthFrownRight")
FROWN_UNDER_SPEECH = 0.4
_SPEECH_MASK = np.isin(np.array(BLENDSHAPE_NAMES), SPEECH_CHANNELS)
_CAPPED_MASK = np.isin(np.array(BLENDSHAPE_NAMES), SPEECH_CAPPED_CHANNELS)
_HELD_MASK = np.isin(np.array(BLENDSHAPE_NAMES), tuple(_HELD_FRACTIONS))
_HELD_FRACTION = np.array([_HELD_FRACTIONS[n] for n in BLENDSHAPE_NAMES if n in _HELD_FRACTIONS])
_JAW, _CLOSE = BLENDSHAPE_NAMES.index("jawOpen"), BLENDSHAPE_NAMES.index("mouthClose")

# Expressions set in over hundreds of milliseconds, not within a frame (onset times measured by Hess &
# Kleck 1990, "Differentiating emotion elicited and deliberate emotional facial expressions", Eur. J. Soc.
# Psychol. 20). A zero-phase Gaussian of this standard deviation (ramps of ~0.4 s) adds no lag.
EXPRESSION_SMOOTHING_S = 0.12
# Speech counts as active this long around any articulation, so gaps under 2 x 0.5 s (between words, a
# breath between sentences) stay speech: a speaker does not drop into the emotion's open mouth for a breath.
# Then it ramps over ACTIVITY_RAMP_S.
ACTIVITY_HOLD_S = 0.5
ACTIVITY_RAMP_S = 0.08
ACTIVITY_THRESHOLD = 0.03
# Articulation gain from arousal: +-20% at the arousal extremes. The size is our choice; the direction
# follows louder, more aroused speech having larger lip and jaw movements (Huber & Chandrasekaran 2006,
# J. Speech Lang. Hear. Res. 49).
AROUSAL_ARTICULATION_GAIN = 0.2


# The head posture that goes with an emotion, (yaw, pitch, roll) degrees added to the head's motion
# (pitch > 0 drops the chin). Sadness bows the head: "head bent down" is the head posture coded most
# for sadness by Wallbott 1998 ("Bodily expression of emotion", Eur. J. Soc. Psychol. 28:879-896).
# The angle is ours, chosen on the photo renderer's tuning portraits (the astronaut and LFW faces
# 40-99, 59 usable; FER2013 reading sadness renders as sadness): 0.53 upright, 0.54 at 11 degrees,
# 0.63 at 13, 0.66 at 14-15, 0.71 at 16-17, 0.66 at 18, 0.64 at 20; 16 is the middle of that plateau.
# Measured and left upright: surprise (0.58 upright, 0.34 with the head raised 8 degrees, 0.53 bowed
# 12); anger bowed and joy raised 6 and 12 degrees (within one of the 59 readings of upright).
EMOTION_POSTURES: dict[str, tuple[float, float, float]] = {"sadness": (0.0, 16.0, 0.0)}
_POSTURES = np.array([EMOTION_POSTURES.get(c, (0.0, 0.0, 0.0)) for c in get_set(RIG_CATEGORY_SET).categories])


def emotion_posture(emotion: str | Emotion) -> np.ndarray:
    """(3,) head (yaw, pitch, roll) degrees for an emotion: the category mixture's postures, scaled
    by how strongly the emotion is expressed (as ``emotion_to_blendshapes`` scales the face)."""
    return prototype_weights(Emotion.parse(emotion)) @ _POSTURES


def posture_track(emotion: str | Emotion | EmotionArc, fps: float, n_frames: int,
                  smoothing_s: float = EXPRESSION_SMOOTHING_S) -> np.ndarray:
    """(n_frames, 3) head posture degrees along the arc, smoothed as ``expression_track``."""
    arc = EmotionArc.parse(emotion)
    return _smoothed(np.stack([emotion_posture(e) for e in arc.sample(fps, frames=n_frames)]), fps, smoothing_s)


def _smoothed(track: np.ndarray, fps: float, smoothing_s: float) -> np.ndarray:
    """A per-frame track through the zero-phase Gaussian of EXPRESSION_SMOOTHING_S (module doc)."""
    if smoothing_s > 0 and len(track) > 1:
        return gaussian_filter1d(track, sigma=smoothing_s * fps, axis=0, mode="nearest")
    return track


def expression_track(emotion: str | Emotion | EmotionArc, fps: float, n_frames: int,
                     smoothing_s: float = EXPRESSION_SMOOTHING_S, prototypes: np.ndarray | None = None) -> np.ndarray:
    """(n_frames, 52) expression targets: the arc sampled at each frame time, through the rig, smoothed.

    An arc that runs past the last frame is cut there (its later keyframes never show); one that ends
    earlier holds its last emotion (``EmotionArc.at``). ``prototypes``: the renderer's table
    (``emotion_to_blendshapes``; None: the EmoFaces world's).
    """
    arc = EmotionArc.parse(emotion)
    emotions = arc.sample(fps, frames=n_frames)
    track = _smoothed(np.stack([emotion_to_blendshapes(e, prototypes) for e in emotions]), fps, smoothing_s)
    return np.clip(track, 0.0, 1.0).astype(np.float32)


def arousal_track(emotion: str | Emotion | EmotionArc, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames,) arousal in [-1, 1] of the arc at each frame (drives blinks, head motion, articulation)."""
    arc = EmotionArc.parse(emotion)
    return np.array([e.arousal for e in arc.sample(fps, frames=n_frames)], dtype=np.float32)


def speech_activity(mouth: np.ndarray, fps: float) -> np.ndarray:
    """(n,) in [0, 1]: 1 while the person is speaking (any speech channel moves), 0 in real pauses."""
    moving = (np.asarray(mouth)[:, _SPEECH_MASK].max(axis=1) > ACTIVITY_THRESHOLD).astype(np.float64)
    hold = max(1, int(round(2 * ACTIVITY_HOLD_S * fps)) + 1)
    held = maximum_filter1d(moving, size=hold, mode="constant")
    if len(held) > 1:
        held = gaussian_filter1d(held, sigma=max(ACTIVITY_RAMP_S * fps, 1e-3), mode="nearest")
    return np.clip(held, 0.0, 1.0)


def combine(mouth: np.ndarray, expression: np.ndarray, fps: float, arousal: np.ndarray | None = None) -> np.ndarray:
    """The speech mouth and the emotion expression as one (n, 52) track, by the rule in the module doc."""
    mouth = np.asarray(mouth, dtype=np.float64)
    expression = np.asarray(expression, dtype=np.float64)
    if mouth.shape != expression.shape or mouth.ndim != 2 or mouth.shape[1] != NUM_BLENDSHAPES:
        raise ValueError(f"mouth {mouth.shape} and expression {expression.shape} must both be (n, 52)")
    activity = speech_activity(mouth, fps)
    return speaking_face(mouth, expression, activity, arousal)


def speaking_face(mouth: np.ndarray, expression: np.ndarray, activity: np.ndarray | float = 1.0,
                  arousal: np.ndarray | float | None = None) -> np.ndarray:
    """``combine``'s rule frame by frame, for a given speech ``activity`` (1 = speaking): (..., 52) float32.

    ``mouth`` and ``expression`` are (..., 52); ``activity`` and ``arousal`` broadcast over the leading
    axes. Also used to draw speaking faces for training data (emogen.data.emofaces), so that a scorer sees
    speech mouths laid over expressions exactly as the talking head lays them.
    """
    mouth = np.asarray(mouth, dtype=np.float64)
    expression = np.asarray(expression, dtype=np.float64)
    activity = np.asarray(activity, np.float64)[..., None]
    gain = 1.0 if arousal is None else 1.0 + AROUSAL_ARTICULATION_GAIN * np.asarray(arousal, np.float64)[..., None]
    speech = np.clip(mouth * gain, 0.0, 1.0)
    speech_part = speech[..., _SPEECH_MASK] + (1.0 - activity) * expression[..., _SPEECH_MASK]
    # How far the speech seals the lips over the jaw (1 on a bilabial): the held lip shape gives way there.
    seal = np.clip(mouth[..., _CLOSE] / np.maximum(mouth[..., _JAW], 1e-6), 0.0, 1.0)[..., None]
    capped = expression[..., _CAPPED_MASK]
    expression = expression.copy()
    expression[..., _CAPPED_MASK] = (1.0 - activity) * capped + activity * np.minimum(capped, FROWN_UNDER_SPEECH)
    out = np.maximum(mouth, expression)
    out[..., _SPEECH_MASK] = speech_part
    held = (1.0 - activity * seal) * _HELD_FRACTION * expression[..., _HELD_MASK]
    out[..., _HELD_MASK] = np.maximum(out[..., _HELD_MASK], held)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def frames_for(duration_s: float, fps: float) -> int:
    """Number of video frames covering ``duration_s`` at ``fps`` (at least one)."""
    return max(1, int(math.ceil(duration_s * fps - 1e-6)))
