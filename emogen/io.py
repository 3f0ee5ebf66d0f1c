"""Reading and writing media files: one place for format checks and atomic writes."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from emogen.errors import EmotionError

if TYPE_CHECKING:
    from PIL import Image

Media = Union[str, Path, np.ndarray, "Image.Image"]


def read_rgb(media: Media) -> np.ndarray:
    """Media (path, numpy array or PIL image) as HxWx3 uint8 RGB; bad input raises EmotionError."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(media, (str, Path)):
        path = Path(media)
        if not path.is_file():
            raise EmotionError(f"{path} is not a file")
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise EmotionError(f"{path} is not a readable image ({exc})") from exc
    if isinstance(media, Image.Image):
        return np.asarray(media.convert("RGB"))
    if isinstance(media, np.ndarray):
        from emogen.face.landmarks import as_rgb

        return as_rgb(media)
    raise EmotionError(f"cannot score a {type(media).__name__}: "
                       "give an image path, a numpy array or a PIL image")


