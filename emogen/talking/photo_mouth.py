"""The inside of the mouth, painted where the warped lips part further than in the still.

Stretching the still's lip texture over an opened jaw gives smeared lips, not a mouth, so the area
inside the inner-lip contour is painted: a dark cavity (darker in the middle and the wider the jaw
opens, as less light reaches the back of the mouth), a band of upper teeth under the upper lip (as
in speech, where the upper incisors show and the lower ones mostly do not), a thinner lower band,
and a tongue resting on the floor of the mouth. Everything is measured along the face's own axes,
so a rolled head gets a rolled mouth. Colours are plain RGB; the still's own colours are not used
because the interior of a closed mouth was never photographed; they are only desaturated as far as
the still's own face is (a black-and-white photo gets a grey mouth, not a red one).
"""
from __future__ import annotations

import cv2
import numpy as np

CAVITY = np.array([62.0, 24.0, 28.0])
UPPER_TEETH = np.array([226.0, 221.0, 208.0])
LOWER_TEETH = np.array([196.0, 190.0, 178.0])
TONGUE = np.array([168.0, 78.0, 84.0])
# Mean (max - min) over RGB of a face in a colour photo: 29-99 levels on the photo bench's colour
# portraits (0 on black-and-white ones); below this the mouth is desaturated as far as the face is.
FULL_COLOUR_CHROMA = 24.0
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, as cv2's RGB2GRAY


def face_saturation(still: np.ndarray, face: np.ndarray) -> float:
    """How colourful the still's face is, in [0, 1] (0: grey): ``face`` is a boolean mask."""
    pixels = still[face].astype(np.float32)
    if not len(pixels):
        return 1.0
    chroma = float((pixels.max(axis=1) - pixels.min(axis=1)).mean())
    return float(np.clip(chroma / FULL_COLOUR_CHROMA, 0.0, 1.0))


def paint_mouth_interior(frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, ex: np.ndarray,
                         ey: np.ndarray, iod: float, amount: float, teeth: float = 1.0,
                         tongue_out: float = 0.0, saturation: float = 1.0) -> None:
    """Paint (in place) the interior bounded by the inner-lip contours ``upper`` and ``lower``
    ((K, 2) pixels, corner to corner, sharing their end points), blended in by ``amount`` in [0, 1].
    ``teeth`` in [0, 1] scales the upper teeth band: a raised upper lip or a smile bares the teeth,
    a plain jaw drop (surprise) mostly shows the dark cavity. ``saturation`` in [0, 1] scales the
    colours' chroma about their luma (see ``face_saturation``).
    ``ex``/``ey`` are the face's across/down image directions, ``iod`` its inter-ocular distance."""
    if amount <= 0.0:
        return
    polygon = np.concatenate([upper, lower[::-1][1:-1]])
    height, width = frame.shape[:2]
    x0, y0 = np.maximum(np.floor(polygon.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.minimum(np.ceil(polygon.max(axis=0)).astype(int) + 3, (width, height))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillPoly(mask, [np.round((polygon - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    alpha = (mask.astype(np.float32) / 255.0 * amount)[..., None]
    if not alpha.any():
        return

    # Pixel positions in mouth coordinates: u across (0 at the middle), v down, in pixels.
    centre = (upper[len(upper) // 2] + lower[len(lower) // 2]) / 2
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    px, py = xs - centre[0], ys - centre[1]
    u, v = px * ex[0] + py * ex[1], px * ey[0] + py * ey[1]

    def along(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = points - centre
        pu, pv = rel @ ex, rel @ ey
        order = np.argsort(pu)
        return pu[order], pv[order]

    upper_u, upper_v = along(upper)
    lower_u, lower_v = along(lower)
    top, bottom = np.interp(u, upper_u, upper_v), np.interp(u, lower_u, lower_v)
    gap = np.maximum(bottom - top, 1e-3)
    depth = np.clip((v - top) / gap, 0.0, 1.0)  # 0 at the upper lip, 1 at the lower
    half_width = max((upper_u[-1] - upper_u[0]) / 2, 1.0)
    side = np.clip(np.abs(u) / half_width, 0.0, 1.0)  # 0 in the middle, 1 at the corners
    centre_gap = float(np.interp(0.0, lower_u, lower_v) - np.interp(0.0, upper_u, upper_v))
    opening = np.clip(centre_gap / (0.35 * iod), 0.0, 1.0)

    shade = (1.0 - 0.55 * opening * np.sin(np.pi * depth)) * (1.0 - 0.45 * side**2)
    colour = CAVITY * shade[..., None]

    tongue_height = (0.35 + 0.3 * tongue_out) * centre_gap
    tongue_width = (0.6 + 0.15 * tongue_out) * half_width
    tongue_top = float(np.interp(0.0, lower_u, lower_v)) - tongue_height
    inside = (u / tongue_width) ** 2 + ((v - tongue_top - tongue_height) / max(tongue_height, 1e-3)) ** 2
    tongue = np.clip((1.0 - inside) * 4.0, 0.0, 1.0) * (v > tongue_top)
    lit = 1.0 - 0.35 * np.clip((v - tongue_top) / max(tongue_height, 1e-3), 0, 1)
    colour = _over(colour, TONGUE * lit[..., None] * (1.0 - 0.3 * side[..., None] ** 2), tongue)

    lower_band = np.minimum(0.05 * iod, 0.18 * gap) * (1.0 - 0.6 * side**2)
    lower_teeth = np.clip(lower_band - (bottom - v) + 0.5, 0.0, 1.0) * 0.8
    colour = _over(colour, LOWER_TEETH * (1.0 - 0.4 * side[..., None] ** 2), lower_teeth)

    upper_band = np.minimum(0.11 * iod * teeth, 0.5 * gap) * (1.0 - 0.5 * side**2)
    upper_teeth = np.clip(upper_band - (v - top) + 0.5, 0.0, 1.0)
    teeth_shade = (1.0 - 0.4 * side**2) * (1.0 - 0.15 * depth)
    colour = _over(colour, UPPER_TEETH * teeth_shade[..., None], upper_teeth)

    if saturation < 1.0:
        grey = (colour @ LUMA)[..., None]
        colour = grey + saturation * (colour - grey)
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(region * (1.0 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)


def _over(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base * (1.0 - alpha[..., None]) + top * alpha[..., None]
