"""Avatar renderer: a parametric cartoon face driven by ARKit blendshapes.

Everything is drawn with PIL polygons at a supersampled resolution and box-filtered down, which
anti-aliases edges and keeps a 64 px frame well under a millisecond or two of Python.

Geometry lives in face units: the origin is the middle of the head, x runs to the image's right
(the subject's left, so "Left" blendshapes act on x > 0), y runs down, and the face is about 2
units wide. Each face point also has a depth on a rounded head surface, so that yaw can rotate it;
silhouettes (the head outline, hair) shift without foreshortening, as a sphere's outline does.
"""
from __future__ import annotations

import colorsys
import functools
import math
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
from PIL import Image, ImageDraw

from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, BlendshapeInput, check_blendshapes, emotion_to_blendshapes

MIN_SIZE, MAX_SIZE = 64, 512
RGB = tuple[int, int, int]

HAIR_STYLES = ("short", "long", "bun", "bald", "curly", "bob")
GLASSES = ("round", "square")
BEARDS = ("stubble", "full")
# superellipse exponent, jaw width factor, chin length, forehead height
FACE_SHAPES: dict[str, tuple[float, float, float, float]] = {
    "oval": (2.0, 0.80, 1.25, 1.38),
    "round": (2.2, 0.90, 1.12, 1.32),
    "square": (2.8, 0.92, 1.18, 1.35),
    "heart": (2.1, 0.66, 1.22, 1.40),
    "long": (2.2, 0.82, 1.38, 1.42),
}
SKIN_TONES: tuple[RGB, ...] = (
    (255, 226, 200), (246, 204, 176), (232, 180, 146), (208, 146, 108),
    (176, 116, 80), (140, 88, 58), (104, 66, 44), (250, 214, 186),
)
HAIR_COLORS: tuple[RGB, ...] = (
    (28, 24, 24), (58, 40, 30), (104, 68, 40), (138, 62, 36), (214, 178, 112),
    (232, 206, 156), (168, 166, 164), (186, 92, 44), (92, 64, 150), (54, 110, 170),
)
HAIR_COLOR_WEIGHTS = (0.2, 0.2, 0.16, 0.08, 0.1, 0.06, 0.08, 0.06, 0.03, 0.03)
EYE_COLORS: tuple[RGB, ...] = (
    (92, 58, 32), (48, 32, 22), (128, 98, 50), (72, 122, 74), (62, 112, 172), (112, 122, 134),
)

# FACE_SCALE: pixels per face unit as a fraction of the image; HEAD_CENTER: where the origin sits.
FACE_SCALE = 0.235
HEAD_CENTER = (0.5, 0.47)
SURFACE_DEPTH = 0.75  # how far the middle of the face stands in front of the silhouette
ROLL_PIVOT_Y = 1.1  # roll turns the head about the top of the neck


@dataclass(frozen=True)
class Identity:
    """Who is drawn: face shape, colours, hair, accessories. Build one with ``from_seed``."""

    face_shape: str = "oval"
    face_width: float = 1.0
    jaw_width: float = 1.0
    skin: RGB = SKIN_TONES[1]
    hair_style: str = "short"
    hair_color: RGB = HAIR_COLORS[1]
    hair_part: float = 0.3  # where the parting sits, -1 (image left) .. 1
    eye_color: RGB = EYE_COLORS[0]
    eye_size: float = 1.0
    eye_spacing: float = 1.0
    brow_thickness: float = 1.0
    nose_size: float = 1.0
    mouth_width: float = 1.0
    lip_fullness: float = 1.0
    blush: float = 0.1
    glasses: Optional[str] = None
    beard: Optional[str] = None
    background_top: RGB = (196, 214, 232)
    background_bottom: RGB = (136, 160, 190)
    shirt: RGB = (70, 100, 150)

    def __post_init__(self) -> None:
        _choice("face_shape", self.face_shape, tuple(FACE_SHAPES))
        _choice("hair_style", self.hair_style, HAIR_STYLES)
        if self.glasses is not None:
            _choice("glasses", self.glasses, GLASSES)
        if self.beard is not None:
            _choice("beard", self.beard, BEARDS)
        for name in ("face_width", "jaw_width", "eye_size", "eye_spacing", "brow_thickness", "nose_size",
                     "mouth_width", "lip_fullness"):
            _in_range(name, getattr(self, name), 0.7, 1.3)
        _in_range("hair_part", self.hair_part, -1.0, 1.0)
        _in_range("blush", self.blush, 0.0, 1.0)
        for name in ("skin", "hair_color", "eye_color", "background_top", "background_bottom", "shirt"):
            value = getattr(self, name)
            if not (isinstance(value, tuple) and len(value) == 3 and all(isinstance(c, int) and 0 <= c <= 255
                                                                          for c in value)):
                raise EmotionError(f"{name} must be an (r, g, b) tuple of ints in [0, 255], got {value!r}")

    @classmethod
    def from_seed(cls, seed: int) -> Identity:
        """A random but reproducible identity: the same seed gives the same face on any machine."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise EmotionError(f"identity seed must be a non-negative integer, got {seed!r}")
        rng = np.random.default_rng(int(seed))

        def pick(options, p=None):
            return options[int(rng.choice(len(options), p=p))]

        def jitter(color: RGB, amount: int) -> RGB:
            return tuple(int(c) for c in np.clip(np.array(color) + rng.integers(-amount, amount + 1, 3), 0, 255))

        hue = rng.random()
        hair_style = pick(HAIR_STYLES, p=(0.26, 0.22, 0.12, 0.08, 0.14, 0.18))
        has_beard = hair_style in ("short", "bald", "curly") and rng.random() < 0.35
        return cls(
            face_shape=pick(tuple(FACE_SHAPES)),
            face_width=float(rng.uniform(0.9, 1.08)),
            jaw_width=float(rng.uniform(0.88, 1.1)),
            skin=jitter(pick(SKIN_TONES), 6),
            hair_style=hair_style,
            hair_color=jitter(pick(HAIR_COLORS, p=HAIR_COLOR_WEIGHTS), 8),
            hair_part=float(rng.uniform(-0.6, 0.6)),
            eye_color=jitter(pick(EYE_COLORS), 10),
            eye_size=float(rng.uniform(0.9, 1.12)),
            eye_spacing=float(rng.uniform(0.94, 1.06)),
            brow_thickness=float(rng.uniform(0.8, 1.25)),
            nose_size=float(rng.uniform(0.85, 1.2)),
            mouth_width=float(rng.uniform(0.9, 1.1)),
            lip_fullness=float(rng.uniform(0.8, 1.25)),
            blush=float(rng.uniform(0.0, 0.3)),
            glasses=pick(GLASSES) if rng.random() < 0.25 else None,
            beard=pick(BEARDS) if has_beard else None,
            background_top=_hsv(hue, rng.uniform(0.12, 0.3), rng.uniform(0.86, 0.96)),
            background_bottom=_hsv(hue + rng.uniform(-0.08, 0.08), rng.uniform(0.25, 0.45), rng.uniform(0.6, 0.78)),
            shirt=_hsv(rng.random(), rng.uniform(0.3, 0.7), rng.uniform(0.35, 0.8)),
        )


@dataclass(frozen=True)
class Pose:
    """Head pose: yaw and roll in degrees (positive yaw turns the face to the image's right,
    positive roll tilts it clockwise), scale of the head, and x/y offset as a fraction of the image."""

    yaw: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        for field, (low, high) in POSE_LIMITS.items():
            object.__setattr__(self, field, _in_range(f"pose {field}", getattr(self, field), low, high))


POSE_LIMITS = {"yaw": (-30.0, 30.0), "roll": (-25.0, 25.0), "scale": (0.6, 1.4), "x": (-0.25, 0.25),
               "y": (-0.25, 0.25)}


def render_face(identity: Identity, blendshapes: BlendshapeInput, pose: Pose | None = None,
                size: int = 128) -> Image.Image:
    """One RGB frame of ``identity`` making the expression ``blendshapes`` (52 values or a dict)."""
    if not isinstance(identity, Identity):
        raise EmotionError(f"identity must be an Identity (e.g. Identity.from_seed(0)), got {type(identity).__name__}")
    if pose is not None and not isinstance(pose, Pose):
        raise EmotionError(f"pose must be a Pose or None, got {type(pose).__name__}")
    values = check_blendshapes(blendshapes)
    size = _check_size(size)
    factor = supersampling(size)
    painter = _Painter(identity, _Expression(values), pose or Pose(), size * factor)
    painter.paint()
    return painter.image.reduce(factor)


def render_emotion(emotion: Emotion | str | Mapping, identity_seed: int, size: int = 128,
                   pose: Pose | None = None) -> Image.Image:
    """``render_face`` of the seed's identity showing ``emotion`` (an Emotion or any spec)."""
    return render_face(Identity.from_seed(identity_seed), emotion_to_blendshapes(emotion), pose, size)


def supersampling(size: int) -> int:
    """Drawing scale: about 256 px or more of canvas, at most 4x (cost grows with its square)."""
    return 4 if size <= 96 else 3 if size <= 160 else 2


# ----- expression parameters ------------------------------------------------------------------
class _Expression:
    """Blendshape values by name; ``side(stem, s)`` reads the Left (s=+1) or Right (s=-1) one."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __getattr__(self, name: str) -> float:
        return float(self.values[BLENDSHAPE_INDEX[name]])

    def side(self, stem: str, s: int) -> float:
        return float(self.values[BLENDSHAPE_INDEX[stem + ("Left" if s > 0 else "Right")]])

    def both(self, stem: str) -> float:
        return 0.5 * (self.side(stem, 1) + self.side(stem, -1))


# ----- drawing ------------------------------------------------------------------------------------
class _Painter:
    def __init__(self, identity: Identity, expression: _Expression, pose: Pose, canvas: int) -> None:
        self.id = identity
        self.ex = expression
        self.unit = FACE_SCALE * canvas * pose.scale
        self.center = ((HEAD_CENTER[0] + pose.x) * canvas, (HEAD_CENTER[1] + pose.y) * canvas)
        yaw, roll = math.radians(pose.yaw), math.radians(pose.roll)
        self.cos_yaw, self.sin_yaw = math.cos(yaw), math.sin(yaw)
        self.cos_roll, self.sin_roll = math.cos(roll), math.sin(roll)
        self.image = _background(identity.background_top, identity.background_bottom, canvas).copy()
        self.draw = ImageDraw.Draw(self.image)
        self.width = identity.face_width
        self.jaw_drop = 0.42 * expression.jawOpen * (1.0 - 0.8 * expression.mouthClose)
        self.mouth_y = 0.5 + 0.2 * FACE_SHAPES[identity.face_shape][2]
        self.brow_color = _contrasting(_mix(identity.hair_color, (40, 28, 20), 0.35), identity.skin, 0.65)
        self.lip_color = _mix(identity.skin, (190, 78, 86), 0.42)
        self.lip_line = _contrasting(_shade(self.lip_color, 0.5), identity.skin, 0.5)

    # projection -----------------------------------------------------------------------------------
    def depth(self, x: np.ndarray) -> np.ndarray:
        return SURFACE_DEPTH * np.sqrt(np.clip(1.0 - (x / (1.05 * self.width)) ** 2, 0.0, 1.0))

    def project(self, pts: np.ndarray, z: np.ndarray | float | None = None, rigid: bool = True) -> list[float]:
        """Face-unit points (N, 2) -> flat pixel list. ``z=None`` puts them on the face surface;
        ``rigid=False`` shifts without foreshortening (for silhouettes)."""
        x, y = pts[:, 0], pts[:, 1]
        if z is None:
            z = self.depth(x)
        x = (x * self.cos_yaw if rigid else x) + z * self.sin_yaw
        dy = y - ROLL_PIVOT_Y
        xr = x * self.cos_roll - dy * self.sin_roll
        yr = x * self.sin_roll + dy * self.cos_roll + ROLL_PIVOT_Y
        out = np.empty((len(pts), 2))
        out[:, 0] = self.center[0] + self.unit * xr
        out[:, 1] = self.center[1] + self.unit * yr
        return out.ravel().tolist()

    def body(self, pts: np.ndarray) -> list[float]:
        """Neck and shoulders: scaled and moved with the head, not turned."""
        return (np.array(self.center) + self.unit * pts).ravel().tolist()

    def px(self, units: float) -> int:
        return max(1, round(units * self.unit))

    # primitives ------------------------------------------------------------------------------------
    def fill(self, pts: np.ndarray, color: RGB, **kw) -> None:
        self.draw.polygon(self.project(pts, **kw), fill=color)

    def stroke(self, pts: np.ndarray, color: RGB, width: float, **kw) -> None:
        self.draw.line(self.project(pts, **kw), fill=color, width=self.px(width), joint="curve")

    def skin_dark(self, amount: float) -> RGB:
        """Skin in shadow: darkening by a fraction keeps lines visible on light and dark skin alike."""
        return _shade(self.id.skin, 1.0 - 0.6 * amount)

    def crease(self, pts: np.ndarray, amount: float, width: float = 0.022) -> None:
        """A skin line whose darkness follows ``amount`` (nothing below a trace)."""
        if amount > 0.04:
            self.stroke(pts, self.skin_dark(min(1.0, amount) * 0.75), width)

    # the face, back to front -----------------------------------------------------------------------
    def paint(self) -> None:
        hair = _HAIR[self.id.hair_style]
        self.shoulders()
        hair.back(self)
        self.neck()
        self.ears()
        self.head()
        self.cheeks()
        if self.id.beard:
            self.beard()
        for s in (1, -1):
            self.eye(s)
        self.forehead_lines()
        self.nose()
        self.mouth()
        for s in (1, -1):
            self.brow(s)
        if self.id.glasses:
            self.glasses()
        hair.front(self)

    def shoulders(self) -> None:
        shoulder = np.concatenate([_ellipse(0.0, 2.6, 2.05, 0.95, 32, 180, 360), [[2.05, 4.0], [-2.05, 4.0]]])
        self.draw.polygon(self.body(shoulder), fill=self.id.shirt)

    def neck(self) -> None:
        neck = np.array([[-0.46, 0.5], [0.46, 0.5], [0.5, 1.65], [0.0, 1.9], [-0.5, 1.65]])
        self.draw.polygon(self.body(neck), fill=_shade(self.id.skin, 0.86))
        collar = _ellipse(0.0, 1.62, 0.64, 0.24, 12, 0, 180)
        self.draw.polygon(self.body(collar), fill=_shade(self.id.skin, 0.86))
        self.draw.line(self.body(collar), fill=_shade(self.id.shirt, 0.75), width=self.px(0.04))

    def outline(self) -> np.ndarray:
        exponent, jaw, chin, forehead = FACE_SHAPES[self.id.face_shape]
        t = np.linspace(0.0, 2 * np.pi, 72, endpoint=False)
        c, s = np.cos(t), np.sin(t)
        ex = np.sign(c) * np.abs(c) ** (2 / exponent)
        ey = np.sign(s) * np.abs(s) ** (2 / exponent)
        lower = np.clip(ey, 0.0, 1.0)
        taper = np.where(ey > 0, 1.0 - (1.0 - jaw * self.id.jaw_width) * lower ** 1.6, 1.0 - 0.06 * ey * ey)
        puff = 1.0 + 0.1 * self.ex.cheekPuff * np.exp(-((ey - 0.45) / 0.3) ** 2)
        x = self.width * ex * taper * puff
        y = np.where(ey > 0, chin * ey, forehead * ey)
        y = y + self.jaw_drop * np.clip((lower - 0.35) / 0.55, 0.0, 1.0) ** 2
        x = x + 0.12 * (self.ex.jawLeft - self.ex.jawRight) * lower ** 2
        return np.stack([x, y], axis=1)

    def head(self) -> None:
        self.head_outline = self.outline()
        self.fill(self.head_outline, self.id.skin, rigid=False, z=self.depth(self.head_outline[:, 0]))

    def head_halfwidth(self, y: np.ndarray) -> np.ndarray:
        """Half the head's width at height ``y`` above the cheekbones (face units, unposed)."""
        right = self.head_outline[(self.head_outline[:, 0] > 0) & (self.head_outline[:, 1] < 0.2)]
        order = np.argsort(right[:, 1])
        return np.interp(y, right[order, 1], right[order, 0])

    def ears(self) -> None:
        for s in (1, -1):
            ear = _ellipse(s * 0.97 * self.width, 0.02, 0.17, 0.29, 16)
            self.fill(ear, _shade(self.id.skin, 0.95), z=-0.15)
            inner = _ellipse(s * 1.0 * self.width, 0.03, 0.08, 0.17, 12)
            self.fill(inner, _shade(self.id.skin, 0.8), z=-0.15)

    def cheeks(self) -> None:
        for s in (1, -1):
            lift = self.ex.side("cheekSquint", s)
            amount = self.id.blush * (0.6 + 0.8 * lift)
            if amount > 0.03:
                cheek = _ellipse(s * 0.55 * self.width, 0.3 - 0.1 * lift, 0.2, 0.12, 16)
                self.fill(cheek, _mix(self.id.skin, (232, 110, 120), min(0.25, 0.5 * amount)))

    def beard(self) -> None:
        outline = self.head_outline
        lower = outline[(outline[:, 1] > 0.05)]
        lower = lower[np.argsort(np.arctan2(lower[:, 1], lower[:, 0]))]
        w = self.width
        inner = np.array([[-0.86 * w, 0.1], [-0.6, 0.42], [-0.42, 0.52], [-0.2, self.mouth_y - 0.17],
                          [0.2, self.mouth_y - 0.17], [0.42, 0.52], [0.6, 0.42], [0.86 * w, 0.1]])
        region = np.concatenate([lower, inner])
        amount = 0.3 if self.id.beard == "stubble" else 0.92
        self.fill(region, _mix(self.id.skin, _shade(self.id.hair_color, 0.9), amount),
                  z=self.depth(region[:, 0]), rigid=False)

    def eye(self, s: int) -> None:
        ex, ident = self.ex, self.id
        wide, blink, squint = ex.side("eyeWide", s), ex.side("eyeBlink", s), ex.side("eyeSquint", s)
        cheek, sneer = ex.side("cheekSquint", s), ex.side("noseSneer", s)
        look_down, look_up = ex.side("eyeLookDown", s), ex.side("eyeLookUp", s)
        cx, cy = s * 0.41 * ident.eye_spacing, -0.1
        w, h = 0.2 * ident.eye_size, 0.13 * ident.eye_size
        up = 0.78 + 0.55 * wide - 1.0 * blink - 0.3 * squint - 0.15 * ex.side("browDown", s) - 0.2 * look_down \
            - 0.12 * cheek + 0.15 * look_up
        low = 0.62 + 0.1 * wide - 0.55 * squint - 0.8 * cheek - 0.62 * blink - 0.25 * sneer
        up, low = max(up, -0.25), max(low, -0.4)
        u = np.linspace(-1.0, 1.0, 15)
        xs = cx + w * u
        # The upper lid peaks a little towards the nose; the lower lid is flatter.
        bump = np.clip(1.0 - u * u, 0.0, 1.0)
        skew = 1.0 - 0.12 * s * u
        y_up = cy - h * up * bump ** 0.7 * skew
        y_lo = np.maximum(cy + h * low * bump ** 0.9, y_up)
        eye_white = np.concatenate([np.stack([xs, y_up], 1), np.stack([xs, y_lo], 1)[::-1]])
        if up + low > 0.02:
            self.fill(eye_white, (242, 239, 236))
            gaze_x = s * (ex.side("eyeLookOut", s) - ex.side("eyeLookIn", s))
            iris_c = (cx + 0.4 * w * gaze_x, cy + 0.12 * h + 0.45 * h * (look_down - look_up))
            r = 0.98 * h
            for radius, color in ((r, ident.eye_color), (0.5 * r, (20, 16, 16))):
                disc = _ellipse(iris_c[0], iris_c[1], radius, radius, 20)
                disc[:, 0] = np.clip(disc[:, 0], xs[0], xs[-1])
                disc[:, 1] = np.clip(disc[:, 1], np.interp(disc[:, 0], xs, y_up), np.interp(disc[:, 0], xs, y_lo))
                self.fill(disc, color)
            glint = (iris_c[0] - 0.35 * r, iris_c[1] - 0.35 * r)
            if np.interp(glint[0], xs, y_up) < glint[1] - 0.1 * r < np.interp(glint[0], xs, y_lo):
                self.fill(_ellipse(glint[0], glint[1], 0.24 * r, 0.24 * r, 8), (255, 255, 255))
        # The lid fold, the lower lid, then the lash line (thicker towards the outer corner).
        crease_up = max(up, 0.45) + 0.55
        self.crease(np.stack([xs[2:-2], (cy - h * crease_up * bump ** 0.7 * skew)[2:-2]], 1), 0.45, 0.018)
        self.stroke(np.stack([xs, y_lo], 1), self.skin_dark(0.3), 0.02)
        lash = 0.028 + 0.03 * np.clip(s * u, 0.0, 1.0)
        lash_line = np.concatenate([np.stack([xs, y_up + 0.01], 1), np.stack([xs, y_up - lash], 1)[::-1]])
        self.fill(lash_line, (34, 24, 22))
        # Cheeks pushed up bunch the skin under the eye and at its outer corner (crow's feet).
        self.crease(np.stack([xs[3:-3], y_lo[3:-3] + 0.07 + 0.03 * bump[3:-3]], 1), 0.9 * cheek + 0.3 * squint)
        for k in (-1, 1):
            corner = np.array([[cx + s * (w + 0.03), cy + 0.02 * k], [cx + s * (w + 0.12), cy + 0.07 * k]])
            self.crease(corner, cheek - 0.2, 0.018)

    def brow(self, s: int) -> None:
        ex = self.ex
        inner_up, down, outer_up = ex.browInnerUp, ex.side("browDown", s), ex.side("browOuterUp", s)
        down = min(1.0, down + 0.35 * ex.side("noseSneer", s))
        spacing = self.id.eye_spacing
        x = s * spacing * np.array([0.16 + 0.06 * down, 0.4, 0.66])
        y = np.array([
            -0.32 - 0.32 * inner_up + 0.24 * down,
            -0.41 - 0.12 * inner_up - 0.14 * outer_up + 0.1 * down,
            -0.34 + 0.05 * inner_up - 0.26 * outer_up,
        ])
        u = np.linspace(0.0, 1.0, 9)
        # Quadratic through inner, middle and outer points (middle at u = 0.5).
        yy = y[0] * (1 - u) * (1 - 2 * u) + y[1] * 4 * u * (1 - u) + y[2] * u * (2 * u - 1)
        xx = x[0] + (x[2] - x[0]) * u
        half = 0.045 * self.id.brow_thickness * (1.0 - 0.55 * u ** 1.5)
        pts = np.concatenate([np.stack([xx, yy - half], 1), np.stack([xx, yy + half], 1)[::-1]])
        self.fill(pts, self.brow_color)

    def forehead_lines(self) -> None:
        ex = self.ex
        outer = 0.5 * (ex.browOuterUpLeft + ex.browOuterUpRight)
        for row, lift in enumerate((0.0, 0.09)):
            y0 = -0.7 - lift
            # Inner raise wrinkles the middle of the forehead; outer raise the whole width.
            span = 0.22 + 0.4 * outer
            u = np.linspace(-1.0, 1.0, 9)
            pts = np.stack([span * u, y0 + 0.04 * u * u - 0.03], 1)
            self.crease(pts, 0.7 * max(ex.browInnerUp, outer) - 0.25 * row - 0.15)
        frown = 0.5 * (ex.browDownLeft + ex.browDownRight)
        for s in (1, -1):
            self.crease(np.array([[s * 0.07, -0.38], [s * 0.09, -0.24]]), 1.1 * frown - 0.1, 0.02)

    def nose(self) -> None:
        ex, n = self.ex, self.id.nose_size
        tip_z = self.depth(np.zeros(1)) + 0.25 * n
        shadow = self.skin_dark(0.22)
        bridge = np.array([[-0.07, -0.02], [-0.08, 0.14], [-0.1, 0.27 * n]])
        self.stroke(bridge, self.skin_dark(0.12), 0.035, z=tip_z * np.array([0.8, 0.9, 1.0]))
        self.fill(_ellipse(0.0, 0.36 * n, 0.11 * n, 0.05, 14), shadow, z=tip_z)
        for s in (1, -1):
            sneer = ex.side("noseSneer", s)
            lift = 0.06 * sneer
            ala = _ellipse(s * (0.12 * n + 0.02 * sneer), 0.32 * n - lift, 0.06, 0.07, 10, -80 * s + 90, 90 * s + 90)
            self.stroke(ala, self.skin_dark(0.4), 0.022, z=tip_z - 0.1)
            nostril = _ellipse(s * 0.055 * n, 0.375 * n - lift, 0.035, 0.018, 8)
            self.fill(nostril, self.skin_dark(0.7), z=tip_z)
            for k, yk in enumerate((0.0, 0.08)):  # wrinkles slanting down the sides of the bridge
                pts = np.array([[s * 0.02, yk - 0.01], [s * 0.07, yk + 0.01], [s * 0.11, yk + 0.05]])
                self.crease(pts, 1.1 * sneer - 0.2 * k, 0.02)

    def mouth(self) -> None:
        ex, ident = self.ex, self.id
        mw, my = 0.34 * ident.mouth_width, self.mouth_y
        shift = 0.12 * (ex.mouthLeft - ex.mouthRight) + 0.1 * (ex.jawLeft - ex.jawRight)
        pucker, funnel = ex.mouthPucker, ex.mouthFunnel
        jaw = ex.jawOpen * (1.0 - 0.8 * ex.mouthClose)
        corners = {}
        for s in (1, -1):
            smile, frown = ex.side("mouthSmile", s), ex.side("mouthFrown", s)
            stretch, dimple = ex.side("mouthStretch", s), ex.side("mouthDimple", s)
            width = 1.0 + 0.2 * smile + 0.32 * stretch + 0.1 * dimple - 0.35 * pucker - 0.3 * funnel \
                - 0.15 * jaw - 0.06 * ex.side("mouthPress", s)
            corners[s] = (shift + s * mw * width,
                          my - 0.2 * smile + 0.2 * frown + 0.1 * stretch - 0.04 * dimple + 0.07 * jaw)
        mid = my + 0.025 * ex.both("mouthSmile") - 0.07 * ex.mouthShrugLower + 0.02 * ex.both("mouthFrown")
        top = mid - 0.12 * ex.both("mouthUpperUp") - 0.05 * jaw - 0.03 * ex.mouthShrugUpper
        bottom = mid + 0.46 * jaw + 0.12 * ex.both("mouthLowerDown") + 0.07 * ex.both("mouthStretch")
        roundness = min(1.0, 1.2 * jaw + funnel + 0.5 * pucker)
        press = ex.both("mouthPress")
        upper_th = 0.065 * ident.lip_fullness * (1 - 0.75 * press) * (1 - 0.7 * ex.mouthRollUpper) \
            * (1 + 0.5 * pucker + 0.3 * funnel) * (1 - 0.25 * ex.both("mouthStretch"))
        lower_th = 0.085 * ident.lip_fullness * (1 - 0.7 * press) * (1 - 0.7 * ex.mouthRollLower) \
            * (1 + 0.5 * pucker + 0.3 * funnel) * (1 - 0.25 * ex.both("mouthStretch"))

        t = np.linspace(0.0, 1.0, 9)
        profile = (1 - roundness) * t ** 2 + roundness * (1 - np.sqrt(np.clip(1 - t * t, 0, 1)))

        def curve(y_mid: float) -> np.ndarray:
            """Corner (image left) -> middle -> corner (image right) through ``y_mid``."""
            halves = []
            for s in (-1, 1):
                cx, cy = corners[s]
                x = shift + (cx - shift) * t
                y = y_mid + (cy - y_mid) * profile
                halves.append(np.stack([x, y], 1))
            return np.concatenate([halves[0][::-1], halves[1][1:]])

        span = np.concatenate([t[::-1], t[1:]])
        inner_up, inner_lo = curve(top), curve(bottom)
        inner_lo[:, 1] = np.maximum(inner_lo[:, 1], inner_up[:, 1])
        bow = 1.0 - 0.25 * np.exp(-(span / 0.14) ** 2)
        outer_up = inner_up - np.stack([np.zeros_like(span), upper_th * np.sqrt(1 - span ** 2.2) * bow], 1)
        outer_lo = inner_lo + np.stack([np.zeros_like(span), lower_th * (1 - span ** 2.2) ** 0.7], 1)
        self.nasolabial(corners)

        if bottom - top > 0.01:
            self.fill(np.concatenate([inner_up, inner_lo[::-1]]), (78, 26, 32))
            mouth_x = inner_up[:, 0]

            def clipped(edge: np.ndarray) -> np.ndarray:
                return np.clip(edge, inner_up[:, 1], inner_lo[:, 1])

            teeth = (244, 240, 230)
            tongue = _ellipse(shift, bottom - 0.01, 0.6 * mw, 0.09, 16)
            tongue[:, 1] = np.clip(tongue[:, 1], np.interp(tongue[:, 0], mouth_x, inner_up[:, 1]),
                                   np.interp(tongue[:, 0], mouth_x, inner_lo[:, 1]))
            self.fill(tongue, (196, 92, 100))
            upper_edge = clipped(inner_up[:, 1] + 0.07 * (1 - 0.5 * span ** 4))
            self.fill(np.concatenate([inner_up, np.stack([mouth_x, upper_edge], 1)[::-1]]), teeth)
            lower_edge = np.maximum(clipped(inner_lo[:, 1] - 0.05 * (1 - span ** 2)), upper_edge)
            self.fill(np.concatenate([np.stack([mouth_x, lower_edge], 1), inner_lo[::-1]]), _shade(teeth, 0.92))
        self.fill(np.concatenate([outer_up, inner_up[::-1]]), _shade(self.lip_color, 0.88))
        self.fill(np.concatenate([inner_lo, outer_lo[::-1]]), self.lip_color)
        self.stroke(inner_up, self.lip_line, 0.022)
        if ex.tongueOut > 0.05:
            self.fill(_ellipse(shift, bottom + 0.05 * ex.tongueOut, 0.35 * mw, 0.04 + 0.1 * ex.tongueOut, 16),
                      (206, 96, 104))
        for s in (1, -1):
            cx, cy = corners[s]
            self.stroke(np.array([[cx - s * 0.02, cy], [cx + s * 0.025, cy - 0.005]]), self.lip_line, 0.02)
            dimple = ex.side("mouthDimple", s)
            self.crease(np.array([[cx + s * 0.05, cy - 0.07], [cx + s * 0.075, cy], [cx + s * 0.05, cy + 0.06]]),
                        1.1 * dimple)
        chin_y = outer_lo[len(t) - 1, 1] + 0.09
        chin = _ellipse(shift, chin_y, 0.13, 0.04, 9, 200, 340)
        self.crease(chin, 1.2 * ex.mouthShrugLower + 0.5 * press - 0.1)

    def nasolabial(self, corners: dict[int, tuple[float, float]]) -> None:
        ex = self.ex
        for s in (1, -1):
            amount = 0.9 * ex.side("mouthSmile", s) + 0.5 * ex.side("mouthUpperUp", s) \
                + 0.4 * ex.side("noseSneer", s) + 0.2 * ex.side("mouthStretch", s) + 0.3 * ex.side("mouthDimple", s)
            cx, cy = corners[s]
            start = np.array([s * 0.2 * self.id.nose_size, 0.3 - 0.05 * ex.side("noseSneer", s)])
            end = np.array([cx + s * 0.08, min(cy, self.mouth_y) - 0.02])
            bend = np.array([s * 0.07, 0.0])
            u = np.linspace(0.0, 1.0, 7)[:, None]
            pts = start * (1 - u) + end * u + bend * 4 * u * (1 - u)
            self.crease(pts, amount - 0.1, 0.024)

    def glasses(self) -> None:
        # Dark frames, or light ones where dark would vanish against the skin.
        frame = (40, 36, 40) if np.dot(self.id.skin, (0.299, 0.587, 0.114)) > 110 else (196, 164, 96)
        spacing = self.id.eye_spacing
        for s in (1, -1):
            cx = s * 0.41 * spacing
            if self.id.glasses == "round":
                rim = _ellipse(cx, -0.08, 0.26, 0.23, 24)
            else:
                rim = _rounded_rect(cx, -0.08, 0.28, 0.19, 0.07)
            self.stroke(np.concatenate([rim, rim[:2]]), frame, 0.035)
            temple = np.array([[s * (0.41 * spacing + 0.27), -0.12], [s * 0.98 * self.width, -0.1]])
            self.stroke(temple, frame, 0.035)
        bridge = _ellipse(0.0, -0.02, 0.15 * spacing, 0.07, 7, 200, 340)
        self.stroke(bridge, frame, 0.035)


# ----- hair -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Hair:
    """A style: what goes behind the head and what goes over it."""

    back_shape: str  # none | long | bob | bun | curly | bald
    cap: bool
    fringe: float  # how far the front hair comes down the forehead (0: high hairline)
    sides: float  # how far hair comes down the sides of the face (y)

    def back(self, p: _Painter) -> None:
        color, w = _shade(p.id.hair_color, 0.82), p.width
        if self.back_shape in ("long", "bob"):
            side = _LONG_HAIR_SIDE if self.back_shape == "long" else _BOB_SIDE
            right = side * np.array([w, 1.0])
            left = (side * np.array([-w, 1.0]))[::-1]
            pts = np.concatenate([_ellipse(0.0, -0.15, 1.16 * w, 1.38, 24, 180, 360), right, left])
            p.fill(pts, color, z=-0.3, rigid=False)
        elif self.back_shape == "bun":
            p.fill(_ellipse(0.0, -1.5, 0.42, 0.36, 20), _shade(p.id.hair_color, 0.92), z=-0.2, rigid=False)
        elif self.back_shape == "curly":
            t = np.radians(np.linspace(150, 390, 16))
            for k, (c, s) in enumerate(zip(np.cos(t), np.sin(t))):
                r = 0.3 + 0.04 * (k % 3)
                p.fill(_ellipse(1.06 * w * c, -0.15 + 1.32 * s, r, r, 14), color, z=-0.2, rigid=False)
        elif self.back_shape == "bald":  # a fringe of hair around the back of the head
            for s in (1, -1):
                side = _ellipse(s * 0.96 * w, -0.22, 0.1, 0.3, 14)
                p.fill(side, color, z=0.0, rigid=False)

    def front(self, p: _Painter) -> None:
        if not self.cap:
            scalp = _ellipse(-0.15, -0.95, 0.45, 0.3, 8, 200, 290)
            p.stroke(scalp, _mix(p.id.skin, (255, 255, 255), 0.25), 0.05, z=0.5, rigid=False)
            return
        w, part = p.width, p.id.hair_part
        outer = _ellipse(0.0, -0.12, 1.07 * w, 1.42, 28, 180, 360)
        # Hairline: down the temples, across the forehead, with the parting swept to one side.
        u = np.linspace(-1.0, 1.0, 17)
        hair_y = -0.72 - 0.3 * (1 - self.fringe) - 0.1 * (1 - u * u) + 0.08 * self.fringe * np.tanh(3 * (u - part))
        # Keep the hairline on the head, or the background shows between it and the temples.
        line = np.stack([np.sign(u) * np.minimum(0.86 * w * np.abs(u), 0.95 * p.head_halfwidth(hair_y)), hair_y], 1)
        right = np.array([[0.99 * w, self.sides], [0.93 * w, -0.35]])
        left = np.array([[-0.93 * w, -0.35], [-0.99 * w, self.sides]])
        pts = np.concatenate([outer, right, line[::-1], left])
        p.fill(pts, p.id.hair_color, z=p.depth(pts[:, 0]) * 0.6, rigid=False)
        sheen = _ellipse(0.3 * part * w - 0.1, -1.02, 0.42, 0.24, 8, 200, 300)
        p.stroke(sheen, _mix(p.id.hair_color, (255, 255, 255), 0.15), 0.035, z=0.4, rigid=False)
        if p.id.hair_style in ("long", "bob"):
            lock = _LONG_LOCK if p.id.hair_style == "long" else _BOB_LOCK
            for s in (1, -1):
                p.fill(lock * np.array([s * w, 1.0]), p.id.hair_color, z=0.1, rigid=False)


# Outlines of the right-hand side (x in face widths): the hair behind the head, then the lock that
# falls in front of the shoulder, from the temple down the outside and back up along the cheek.
_LONG_HAIR_SIDE = np.array([[1.2, 0.5], [1.27, 1.3], [1.2, 1.85], [0.95, 2.05], [0.5, 1.95]])
_BOB_SIDE = np.array([[1.2, 0.3], [1.2, 0.8], [1.06, 0.95], [0.6, 0.85]])
_LONG_LOCK = np.array([[0.75, -0.95], [1.1, -0.55], [1.15, 0.2], [1.22, 1.0], [1.14, 1.6], [0.98, 1.78],
                       [1.0, 1.3], [0.98, 0.7], [0.93, 0.1], [0.86, -0.5]])
_BOB_LOCK = np.array([[0.75, -0.95], [1.1, -0.55], [1.16, 0.2], [1.18, 0.8], [1.02, 0.92], [0.98, 0.6],
                      [0.93, 0.1], [0.86, -0.5]])


_HAIR: dict[str, _Hair] = {
    "short": _Hair("none", cap=True, fringe=0.25, sides=-0.15),
    "long": _Hair("long", cap=True, fringe=0.5, sides=0.1),
    "bun": _Hair("bun", cap=True, fringe=0.0, sides=-0.2),
    "bald": _Hair("bald", cap=False, fringe=0.0, sides=0.0),
    "curly": _Hair("curly", cap=True, fringe=0.6, sides=0.05),
    "bob": _Hair("bob", cap=True, fringe=0.9, sides=0.3),
}


# ----- helpers --------------------------------------------------------------------------------
def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int, start: float = 0.0, end: float = 360.0) -> np.ndarray:
    """n points on an ellipse (a closed one for the full turn, else an arc from start to end degrees)."""
    full = end - start >= 360.0
    t = np.radians(np.linspace(start, end, n, endpoint=not full))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _rounded_rect(cx: float, cy: float, hw: float, hh: float, r: float) -> np.ndarray:
    corners = [(hw - r, -hh + r, 270), (hw - r, hh - r, 0), (-hw + r, hh - r, 90), (-hw + r, -hh + r, 180)]
    return np.concatenate([_ellipse(cx + x, cy + y, r, r, 5, a, a + 90) for x, y, a in corners])


@functools.lru_cache(maxsize=32)
def _background(top: RGB, bottom: RGB, canvas: int) -> Image.Image:
    u = np.linspace(0.0, 1.0, canvas)[:, None, None]
    column = (1 - u) * np.array(top) + u * np.array(bottom)
    return Image.fromarray(np.repeat(column, canvas, axis=1).round().astype(np.uint8), "RGB")


def _mix(a: RGB, b: RGB, amount: float) -> RGB:
    return tuple(int(round(x + (y - x) * amount)) for x, y in zip(a, b))


def _shade(color: RGB, factor: float) -> RGB:
    return tuple(int(min(255, round(c * factor))) for c in color)


def _contrasting(color: RGB, against: RGB, ratio: float) -> RGB:
    """``color``, darkened until its luminance is at most ``ratio`` of ``against``'s (fair brows on fair skin)."""
    luminance = np.dot(color, (0.299, 0.587, 0.114)) + 1.0
    limit = ratio * np.dot(against, (0.299, 0.587, 0.114))
    return _shade(color, min(1.0, limit / luminance))


def _hsv(h: float, s: float, v: float) -> RGB:
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def _choice(name: str, value: object, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise EmotionError(f"{name} must be one of {', '.join(accepted)}, got {value!r}")


def _in_range(name: str, value: object, low: float, high: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EmotionError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}") from None
    if not low <= number <= high:  # NaN fails too
        raise EmotionError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return number


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise EmotionError(f"size must be an integer number of pixels in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    return int(size)

