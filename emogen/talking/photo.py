"""A real photo as a talking-head renderer: ``PhotoPortrait(image).render(blendshapes, pose)``.

Set-up (once per portrait): read the photo (any path, numpy array or PIL image; grayscale, RGBA,
CMYK, 16-bit and EXIF-rotated files are converted, see ``read_photo``), find the largest face with
MediaPipe's FaceLandmarker on a copy at most ``WORKING_SIZE`` pixels on its long side, frame a
square crop around it (``FRAME_SCALE`` face sizes, fixed for the whole clip) resized to the output
size, and detect the face again on that crop, so that the landmarks and the still's own blendshapes
are measured at the resolution we draw at. The mesh (emogen.talking.photo_mesh) and the per-
blendshape displacements (emogen.talking.photo_motion) are built then.

Per frame: the change from the still's measured blendshapes to the requested ones moves the
landmarks (so a smiling still can be made neutral or sad), the head pose rotates them in 3D about
the head's centre, the mesh warp draws the frame from the still (the irises then slide inside the
eye openings for the gaze, emogen.talking.photo_gaze), and the mouth interior is painted
where the lips part further than in the still. Pixels outside the mesh's outer ring are the still's.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from emogen.errors import EmotionError
from emogen.face.landmarks import FaceDetection, FaceLandmarker
from emogen.face.rig import (BLENDSHAPE_INDEX, BLENDSHAPE_NAMES, EMFACS_PROTOTYPES, BlendshapeInput, check_blendshapes,
                             emotion_to_blendshapes, prototype_matrix)
from emogen.io import Media
from emogen.talking.photo_gaze import IRISES, eye_opening, gaze_shifts, iris_radius, redirect_gaze
from emogen.talking.photo_mesh import (FACE_OVAL, LIPS_LOWER_INNER, LIPS_UPPER_INNER, NUM_LANDMARKS, WarpMesh,
                                       face_oval_mask)
from emogen.talking.photo_motion import EAR_SIDES, ExpressionRig, FaceFrame
from emogen.talking.photo_mouth import face_saturation, paint_mouth_interior

SIZES = (256, 512)
MIN_FACE_PX = 64  # face width in the photo; below it the 256 px output would be mostly upscaling blur
WORKING_SIZE = 1024  # long side for the first detection (MediaPipe itself looks at 128-256 px crops)
FRAME_SCALE = 2.0  # crop side / face size (the larger of the landmarks' width and height)
MIN_FRAME_SCALE = 1.6  # tighter crops are used when the photo ends close to the face
FRAME_LIFT = 0.08  # the crop centre sits this many face sizes above the face's, to show the hair
HEAD_RING_FOLLOWS = 0.7  # how much of the jaw/brow motion of the face outline the head ring shares
POSE_LIMITS = {"yaw": (-30.0, 30.0), "pitch": (-20.0, 20.0), "roll": (-25.0, 25.0)}
# A render in which the landmarker finds no face is a broken one (talk()'s own scoring, and any face
# tracker downstream, loses the face). On soft or small faces (upscaled thumbnails) the full brow raise
# does that: it stretches the dark brow and eye socket into one band. So each portrait takes the largest
# of these gains on the motion above the upper lids at which its strongest brow expression
# (BROW_PROBE_EMOTION: the largest travel above the lids of the 7 emotions, on the astronaut and LFW)
# is still found; if none is, the smallest.
# Only face detection decides, no expression classifier. On the tuning portraits (the astronaut and LFW
# faces 40-99) 7 of the 11 surprise renders (of 59) in which no face was found became faces.
BROW_GAINS = (1.0, 0.85, 0.7, 0.55, 0.4)
BROW_PROBE_EMOTION = "surprise"
BROW_RAMP = (0.03, 0.12)  # IOD above the lid line over which the gain fades in (none on the lids)
# Gaze moves no landmark: the irises are redrawn inside the eye openings (emogen.talking.photo_gaze).
GAZE_BLENDSHAPES = tuple(n for n in BLENDSHAPE_NAMES if n.startswith("eyeLook"))
_GAZE = [BLENDSHAPE_INDEX[n] for n in GAZE_BLENDSHAPES]
# The faces a photo is given for each emotion: EMFACS codes, as the avatar's (emogen.face.rig), but for
# two emotions the variant a 2D warp of a real face shows best. Why: the warp moves the lower lip down
# for a jaw drop but leaves the lip corners where the still had them, so the avatar's surprise (26E)
# opens a wide, flat mouth, which the FER2013 classifier reads as a laugh; and the avatar's anger
# (pressed lips, 23+24) barely changes a photo's mouth, so a still's smile survives it. Chosen among FACS
# variants on the tuning portraits only (the astronaut and LFW faces 40-69); bench/bench_talking_photo.py's
# tuning rows with the avatar's faces -> these: LFW 40-69 surprise 0.43 -> 0.63, anger 0.63 -> 0.90,
# 4 emotions 0.642 -> 0.758 (astronaut 0.75 -> 0.75).
# The avatar keeps EMFACS_PROTOTYPES: they define the EmoFaces world its scorer and models learnt.
PHOTO_PROTOTYPES: dict[str, str] = {
    **EMFACS_PROTOTYPES,
    "surprise": "1E+2E+5C+26E+22C",  # EMFACS 1+2+5+26, the lips rounding over the dropped jaw (22): an O
    "anger": "4E+5D+7D+10D+22C+23C+26C",  # EMFACS 4+5+7+10+22+23+26: the open-mouthed anger
}
PHOTO_PROTOTYPE_MATRIX = prototype_matrix(PHOTO_PROTOTYPES)


def read_photo(image: Media) -> np.ndarray:
    """A photo as HxWx3 uint8 RGB.

    Paths and PIL images: EXIF orientation applied; palette, grayscale and CMYK converted;
    16-bit samples scaled to 8 bits; transparency composited on white (a cut-out portrait then
    sits on a plain background instead of whatever colour its hidden pixels have). Arrays: uint8,
    uint16 (scaled) or floats in [0, 1]; HxW, HxWx1, HxWx3 or HxWx4 (alpha composited on white).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise EmotionError(f"portrait {path} is not a file")
        try:
            with Image.open(path) as opened:
                opened.load()
                return _pil_to_rgb(ImageOps.exif_transpose(opened))
        except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
            raise EmotionError(f"portrait {path} is not a readable image ({exc}); "
                               "give a JPEG, PNG, WebP, TIFF or BMP file") from exc
    if isinstance(image, Image.Image):
        return _pil_to_rgb(ImageOps.exif_transpose(image))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image)
    raise EmotionError(f"portrait must be an image path, a numpy array or a PIL image, got {type(image).__name__}")


def _pil_to_rgb(image) -> np.ndarray:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return _array_to_rgb(np.asarray(image))
    if image.mode == "F":  # 32-bit float pixels hold 0..255
        return _array_to_rgb(np.clip(np.asarray(image) / 255.0, 0.0, 1.0))
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        return _array_to_rgb(np.asarray(image.convert("RGBA")))
    return np.asarray(image.convert("RGB"))  # L, 1, P, CMYK (PIL undoes Adobe's inversion), YCbCr, ...


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        pixels = array.astype(np.float32)
    elif array.dtype in (np.uint16, np.int32, np.uint32):
        # 16-bit files (PIL hands 16-bit grayscale over as uint16 or int32 "I" pixels).
        top = 65535.0 if array.max(initial=0) > 255 else 255.0
        pixels = array.astype(np.float32) * (255.0 / top)
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all() or array.min(initial=0) < 0 or array.max(initial=0) > 1:
            raise EmotionError("a float portrait must hold finite values in [0, 1]; got values in "
                               f"[{np.nanmin(array):g}, {np.nanmax(array):g}]")
        pixels = array.astype(np.float32) * 255.0
    else:
        raise EmotionError(f"portrait array dtype {array.dtype} is not supported; "
                           "accepted: uint8, uint16 or floats in [0, 1]")
    if pixels.ndim == 3 and pixels.shape[2] in (1, 2):  # gray, gray + alpha
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
    elif pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise EmotionError(f"portrait array shape {array.shape} is not HxW, HxWx1, HxWx2, HxWx3 or HxWx4")
    if pixels.shape[2] == 4:
        alpha = pixels[..., 3:] / 255.0
        pixels = pixels[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def check_pose(pose: Sequence[float] | None) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees, each within ``POSE_LIMITS``; None is (0, 0, 0)."""
    if pose is None:
        return (0.0, 0.0, 0.0)
    try:
        values = tuple(float(x) for x in pose)
    except (TypeError, ValueError):
        raise EmotionError(f"pose must be (yaw, pitch, roll) in degrees, got {pose!r}") from None
    if len(values) != 3:
        raise EmotionError(f"pose must be (yaw, pitch, roll) in degrees, got {len(values)} values")
    for name, value in zip(POSE_LIMITS, values):
        low, high = POSE_LIMITS[name]
        if not low <= value <= high:  # NaN fails too
            raise EmotionError(f"head {name} {value} degrees is outside [{low:g}, {high:g}]")
    return values


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3x3 rotation in image axes (x right, y down, z away from the camera, as MediaPipe's z):
    yaw > 0 turns the face to the image's right, pitch > 0 drops the chin, roll > 0 is clockwise."""
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    turn = np.array([[math.cos(y), 0, -math.sin(y)], [0, 1, 0], [math.sin(y), 0, math.cos(y)]])
    nod = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    tilt = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return tilt @ nod @ turn


class PhotoPortrait:
    """Animates the largest face of a photo; ``render`` gives size x size RGB frames."""

    # emogen.face.rig.emotion_to_blendshapes(emotion, expression_prototypes): this renderer's faces.
    expression_prototypes = PHOTO_PROTOTYPE_MATRIX

    def __init__(self, image: Media, size: int = 256, landmarker: FaceLandmarker | None = None) -> None:
        if size not in SIZES:
            raise EmotionError(f"portrait size {size!r} is not supported; accepted: {', '.join(map(str, SIZES))}")
        self.size = size
        self.landmarker = landmarker if landmarker is not None else FaceLandmarker()
        warnings: list[str] = []
        photo = read_photo(image)
        face = self._largest_face(photo, warnings)
        self.crop_box, padded = frame_box(face, photo.shape[1], photo.shape[0])
        if padded:
            warnings.append("the photo ends close to the face: its edges were extended to frame it")
        self.still = crop_square(photo, self.crop_box, size)
        scale = size / (self.crop_box[2] - self.crop_box[0])
        if scale > 2.0:
            warnings.append(f"the face is small ({face_width(face):.0f} px wide): the frame is upscaled "
                            f"{scale:.1f}x and will look soft")
        self.face = self._face_in_crop(face, scale)
        self.warnings: tuple[str, ...] = tuple(warnings)

        landmarks = self.face.landmarks.astype(np.float64)
        self.still_blendshapes = np.array([self.face.blendshapes.get(n, 0.0) for n in BLENDSHAPE_NAMES])
        # The still's gaze is the rest gaze: a requested look turns the eyes from where the photo looks.
        # (MediaPipe's eyeLook readings of stills are large and noisy, e.g. eyeLookDown from the lids'
        # shape; subtracting them moved the irises on every render and cost FER accuracy.)
        self.still_blendshapes[_GAZE] = 0.0
        self.mesh = WarpMesh(landmarks, size)
        self.rig = ExpressionRig(landmarks)
        self._landmarks = landmarks
        head_centre = np.array([*self.mesh.centre, landmarks[list(EAR_SIDES), 2].mean()])
        self._head_centre = head_centre
        self._ring_depth = np.concatenate([landmarks[list(FACE_OVAL), 2] + self.rig.frame.iod,
                                           np.full(len(FACE_OVAL), 1e6)])
        below = self.mesh.source[self.mesh.head_ring_ids, 1] - self.mesh.centre[1]
        self._ring_turns = 1.0 - 0.75 * np.clip(below / max(below.max(), 1e-6), 0.0, 1.0)
        self._still_gap = _centre_gap(landmarks[:, :2], self.rig.frame.ey)
        self._saturation = face_saturation(self.still, face_oval_mask(landmarks, size))
        self._iris_radii = {side: iris_radius(landmarks, side) for side in IRISES}
        self._eye_openings = {side: eye_opening(landmarks, side) for side in IRISES}
        self.brow_gain, found = self._detectable_brow_gain()
        if self.brow_gain < 1.0:
            self.warnings += (f"the full brow raise makes this face unrecognisable to the face landmarker: the "
                              f"brows move {self.brow_gain:g}x as far" + ("" if found else
                              " (and even then no face is found in its surprise render)"),)

    # --- set-up ------------------------------------------------------------------------------------

    def _detectable_brow_gain(self) -> tuple[float, bool]:
        """(the first of BROW_GAINS at which the landmarker finds the face in the BROW_PROBE_EMOTION
        render, True), or (the last, False) when it finds it at none (see BROW_GAINS); sets the motion
        scale ``_targets`` applies."""
        probe = emotion_to_blendshapes(BROW_PROBE_EMOTION, self.expression_prototypes)
        fade = np.clip((self.rig.lid_height - BROW_RAMP[0]) / (BROW_RAMP[1] - BROW_RAMP[0]), 0.0, 1.0)
        for gain in BROW_GAINS:
            self._motion_scale = (1.0 - (1.0 - gain) * fade)[:, None]
            if self.landmarker.detect(self.render(probe)):
                return gain, True
        return gain, False

    def _largest_face(self, photo: np.ndarray, warnings: list[str]) -> FaceDetection:
        height, width = photo.shape[:2]
        if min(height, width) < MIN_FACE_PX:
            raise EmotionError(f"portrait is {width}x{height} pixels; it needs at least {MIN_FACE_PX} on each "
                               f"side and a face at least {MIN_FACE_PX} pixels wide")
        shrink = min(1.0, WORKING_SIZE / max(height, width))
        working = photo if shrink == 1.0 else cv2.resize(
            photo, (round(width * shrink), round(height * shrink)), interpolation=cv2.INTER_AREA)
        faces = find_faces(self.landmarker, working)
        if not faces:
            raise EmotionError(f"no face found in the {width}x{height} portrait; give a photo with a clearly "
                               "visible, roughly frontal face")
        if len(faces) > 1:
            warnings.append(f"{len(faces)} faces found, animating the largest")
        face = _scaled(faces[0], 1.0 / shrink, (0.0, 0.0))
        if face_width(face) < MIN_FACE_PX:
            x0, y0, x1, y1 = face.bbox
            raise EmotionError(f"the face is {x1 - x0:.0f}x{y1 - y0:.0f} pixels in the {width}x{height} portrait; "
                               f"it must be at least {MIN_FACE_PX} pixels wide: use a larger or closer photo")
        return face

    def _face_in_crop(self, face: FaceDetection, scale: float) -> FaceDetection:
        """The face re-detected on the output crop (landmarks and blendshapes at drawing resolution);
        the first detection, moved into the crop, if the crop's own detection fails."""
        x0, y0 = self.crop_box[:2]
        moved = _scaled(face, scale, (-x0 * scale, -y0 * scale))
        found = self.landmarker.detect(self.still)
        if not found:
            return moved
        # Another face may reach into the crop: take the detection nearest to ours.
        return min(found, key=lambda f: float(np.abs(f.landmarks[:, :2] - moved.landmarks[:, :2]).mean()))

    # --- frames --------------------------------------------------------------------------------------

    def render(self, blendshapes: BlendshapeInput, pose: Sequence[float] | None = None,
               speaking: float = 0.0) -> np.ndarray:
        """One size x size x 3 uint8 frame making ``blendshapes`` (52 values or a name -> value
        mapping, in [0, 1]) at head ``pose`` (yaw, pitch, roll degrees; None = the still's pose).
        ``speaking`` in [0, 1]: the speech activity of the frame (talk() passes
        emogen.talking.expression.speech_activity), which changes the teeth (``teeth_shown``)."""
        values = check_blendshapes(blendshapes)
        points, target, depth, looks = self._targets(values, check_pose(pose))
        map_x, map_y, _ = self.mesh.maps(target, depth)
        y0, y1, x0, x1 = self.mesh.box
        face = FaceFrame.from_landmarks(points[:, :2])  # axes after the head's roll
        shifts = {side: face.to_pixels(shift) for side, shift in looks.items()}
        redirect_gaze(map_x, map_y, (x0, y0), points, shifts, self._iris_radii, self._eye_openings)
        frame = self.still.copy()
        warped = cv2.remap(self.still, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = ~self.mesh.static_mask[y0:y1, x0:x1]
        frame[y0:y1, x0:x1][inside] = warped[inside]
        self._paint_mouth(frame, points[:, :2], face, values, float(np.clip(speaking, 0.0, 1.0)))
        return frame

    def targets(self, blendshapes: BlendshapeInput, pose: Sequence[float] | None = None):
        """Where ``render`` moves the mesh: (landmarks (478, 3) after the expression and the turn, every
        mesh vertex's target (V, 2), its depth (V,), each eye's gaze shift in face units)."""
        return self._targets(check_blendshapes(blendshapes), check_pose(pose))

    def _targets(self, values: np.ndarray, pose: tuple[float, float, float]):
        """`targets` for checked values and pose (``render`` checks them once per frame)."""
        yaw, pitch, roll = pose
        delta = values - self.still_blendshapes
        looks = gaze_shifts(delta)  # the irises turn (redirect_gaze below); no landmark moves for gaze
        delta[_GAZE] = 0.0
        moves = self.rig.limit_upper_travel(self.rig.displacement(delta)) * self._motion_scale
        moves += self.rig.close_lips(moves, lip_seal(self.still_blendshapes, values))

        points = self._landmarks.copy()
        points[:, :2] += moves
        ring = self.mesh.source[NUM_LANDMARKS:].copy()
        n_oval = len(FACE_OVAL)
        ring[:n_oval] += HEAD_RING_FOLLOWS * moves[list(FACE_OVAL)]
        head_ring = np.concatenate([ring[:n_oval], self._landmarks[list(FACE_OVAL), 2:] + self.rig.frame.iod], 1)
        if (yaw, pitch, roll) != (0.0, 0.0, 0.0):
            turn = rotation(yaw, pitch, roll)
            points = (points - self._head_centre) @ turn.T + self._head_centre
            turned = (head_ring - self._head_centre) @ turn.T + self._head_centre
            # The ring below the jaw lies on the neck and collar, which stay; above, hair and ears turn.
            head_ring += self._ring_turns[:, None] * (turned - head_ring)
            ring[:n_oval] = head_ring[:, :2]
        target = np.concatenate([points[:, :2], ring])
        depth = np.concatenate([points[:, 2], head_ring[:, 2], self._ring_depth[n_oval:]])
        return points, target, depth, looks

    def _paint_mouth(self, frame: np.ndarray, points: np.ndarray, face: FaceFrame, values: np.ndarray,
                     speaking: float) -> None:
        iod = self.rig.frame.iod
        wider = _centre_gap(points, face.ey) - self._still_gap
        amount = float(np.clip((wider - 0.01 * iod) / (0.04 * iod), 0.0, 1.0))
        paint_mouth_interior(frame, points[list(LIPS_UPPER_INNER)], points[list(LIPS_LOWER_INNER)],
                             face.ex, face.ey, iod, amount, teeth=teeth_shown(values, speaking),
                             tongue_out=float(values[BLENDSHAPE_INDEX["tongueOut"]]), saturation=self._saturation)


def teeth_shown(values: np.ndarray, speaking: float = 0.0) -> float:
    """How much of the upper teeth the lips bare, in [0, 1]: a relaxed upper lip over a dropped
    jaw (AU26, surprise) covers most of them; a raised upper lip (mouthUpperUp, AU10), a smile
    (AU12) or a stretched mouth (AU20) bares them. Bared teeth are a smile cue to an expression
    classifier, so a surprised mouth must not show a wide white band.

    While speaking (``speaking``, the speech activity, 1 = speaking) the raised upper lip bares none:
    an emotion's lip raise is held under the speech (emogen.talking.expression.HELD_LIP_CHANNELS), and
    a teeth band on a moving mouth reads as a smile. Measured on the tuning portraits (talk() clips of
    one espeak sentence, astronaut + LFW 40-54, FER2013 on the scored frames): anger frames read as
    anger 0.639 -> 0.731 (read as joy 49 -> 14 times in 238 frames), surprise 0.225 -> 0.233, joy 0.875 ->
    0.871, sadness 0.608 -> 0.597; lip-sync r 0.827 -> 0.820 (surprise and anger clips). On the photo
    bench's held-out spoken clips the gain is small: anger 0.269 -> 0.286, all frames 0.553 -> 0.557. Still renders
    keep the teeth: without them the open-mouthed anger reads as surprise (57 -> 53 of 59 tuning renders
    read as anger)."""
    raised = values[[BLENDSHAPE_INDEX["mouthUpperUpLeft"], BLENDSHAPE_INDEX["mouthUpperUpRight"]]].mean()
    smile = values[[BLENDSHAPE_INDEX["mouthSmileLeft"], BLENDSHAPE_INDEX["mouthSmileRight"]]].mean()
    stretch = values[[BLENDSHAPE_INDEX["mouthStretchLeft"], BLENDSHAPE_INDEX["mouthStretchRight"]]].mean()
    return float(np.clip(0.12 + (1.0 - speaking) * raised + 0.7 * smile + 0.3 * stretch, 0.0, 1.0))


def lip_aperture(values: np.ndarray) -> float:
    """How far apart the blendshapes hold the lips, roughly in jawOpen units."""
    upper = values[[BLENDSHAPE_INDEX["mouthUpperUpLeft"], BLENDSHAPE_INDEX["mouthUpperUpRight"]]].mean()
    lower = values[[BLENDSHAPE_INDEX["mouthLowerDownLeft"], BLENDSHAPE_INDEX["mouthLowerDownRight"]]].mean()
    return float(np.clip(values[BLENDSHAPE_INDEX["jawOpen"]] + 0.5 * (upper + lower)
                         - values[BLENDSHAPE_INDEX["mouthClose"]], 0.0, 1.0))


def lip_seal(still: np.ndarray, target: np.ndarray) -> float:
    """The fraction of the still's lip gap to close: a still that shows its teeth (a smile, a
    spoken vowel) must close its lips for a target that does not part them. The jawOpen, upperUp,
    lowerDown displacements move the lips as wholes; this closes the gap between them."""
    still_aperture = lip_aperture(still)
    if still_aperture < 0.05:
        return 0.0
    return float(np.clip(1.0 - lip_aperture(target) / still_aperture, 0.0, 1.0))


def _centre_gap(points: np.ndarray, down: np.ndarray) -> float:
    """How far the middle of the lower inner lip is below the upper's, in pixels."""
    return float((points[LIPS_LOWER_INNER[5], :2] - points[LIPS_UPPER_INNER[5], :2]) @ down)


def find_faces(landmarker: FaceLandmarker, image: np.ndarray) -> list[FaceDetection]:
    """Faces in ``image``, largest first. MediaPipe's detector looks at the whole image shrunk to
    128 px, so a face under about a sixth of the long side is missed (a group photo, a wide
    shot); then square tiles of the short side and of half of it are searched as well."""
    faces = landmarker.detect(image)
    if faces:
        return faces
    height, width = image.shape[:2]
    for side in (min(height, width), min(height, width) // 2):
        if side < MIN_FACE_PX:
            break
        for top in _starts(height, side):
            for left in _starts(width, side):
                tile = image[top:top + side, left:left + side]
                faces += [_scaled(f, 1.0, (left, top)) for f in landmarker.detect(tile)]
        if faces:
            break
    kept: list[FaceDetection] = []
    for face in sorted(faces, key=lambda f: f.area, reverse=True):  # tiles overlap: drop repeats
        if all(_overlap(face, other) < 0.3 for other in kept):
            kept.append(face)
    return kept


def _starts(length: int, side: int) -> list[int]:
    """Tile offsets with half-tile overlap, the last flush with the end."""
    if length <= side:
        return [0]
    count = math.ceil((length - side) / (side / 2)) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def _overlap(a: FaceDetection, b: FaceDetection) -> float:
    """Intersection over the smaller box (a cut-off face in one tile is inside the whole one)."""
    ax0, ay0, ax1, ay1 = a.bbox
    bx0, by0, bx1, by1 = b.bbox
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    return inter / max(min(a.area, b.area), 1e-6)


def face_width(face: FaceDetection) -> float:
    return face.bbox[2] - face.bbox[0]


def _scaled(face: FaceDetection, scale: float, offset: tuple[float, float]) -> FaceDetection:
    landmarks = face.landmarks * scale
    landmarks[:, :2] += offset
    x0, y0, x1, y1 = face.bbox
    return FaceDetection(landmarks=landmarks, blendshapes=face.blendshapes,
                         bbox=(x0 * scale + offset[0], y0 * scale + offset[1],
                               x1 * scale + offset[0], y1 * scale + offset[1]))


def frame_box(face: FaceDetection, width: int, height: int) -> tuple[tuple[int, int, int, int], bool]:
    """The square crop (x0, y0, x1, y1) around the face, and whether it reaches outside the photo.

    ``FRAME_SCALE`` face sizes if that fits (the box may slide up to a tenth of its side to fit),
    else the largest scale down to ``MIN_FRAME_SCALE`` that fits, else ``MIN_FRAME_SCALE`` padded.
    """
    x0, y0, x1, y1 = face.bbox
    face_size = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 - FRAME_LIFT * face_size
    for scale in np.linspace(FRAME_SCALE, MIN_FRAME_SCALE, 9):
        side = scale * face_size
        if side > min(width, height):
            continue
        left = float(np.clip(cx - side / 2, 0, width - side))
        top = float(np.clip(cy - side / 2, 0, height - side))
        if max(abs(left - (cx - side / 2)), abs(top - (cy - side / 2))) <= 0.1 * side:
            return (round(left), round(top), round(left + side), round(top + side)), False
    side = MIN_FRAME_SCALE * face_size
    left, top = round(cx - side / 2), round(cy - side / 2)
    return (left, top, left + round(side), top + round(side)), True


def crop_square(photo: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """``photo[box]`` (edges replicated where the box leaves the photo) resized to size x size."""
    x0, y0, x1, y1 = box
    height, width = photo.shape[:2]
    pad = max(0, -x0, -y0, x1 - width, y1 - height)
    if pad:
        photo = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = photo[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    shrinking = crop.shape[0] > size
    return np.ascontiguousarray(cv2.resize(crop, (size, size),
                                           interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC))
