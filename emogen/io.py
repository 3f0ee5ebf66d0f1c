"""Reading and writing media files: one place for format checks and atomic writes."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Union

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




@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    Whatever fails half-way leaves no partial file behind, and an existing file stays intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give it the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_atomic(image: "Image.Image", path: str | Path, **save_options) -> Path:
    """Save a PIL image atomically (see ``atomic_output``)."""
    with atomic_output(path) as temporary:
        image.save(temporary, format=save_options.pop("format", None) or _image_format(path), **save_options)
    return Path(path)


def write_json_atomic(path: str | Path, data) -> Path:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2))
    return Path(path)


def _image_format(path: str | Path) -> str | None:
    from PIL import Image

    return Image.registered_extensions().get(Path(path).suffix.lower())
