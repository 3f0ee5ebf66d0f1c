"""`EmotionSample`: one labelled image, the same for the procedural EmoFaces world and for real datasets.

A sample holds its labels in emogen's terms (canonical category names, valence/arousal/dominance in
[-1, 1], intensity in [0, 1]) and its image either as a path, read lazily, or in memory. Loaders convert
each dataset's own conventions into this; training code only ever sees this.

``write_imagefolder`` saves samples in the Hugging Face "imagefolder" layout (images next to a
``metadata.jsonl`` whose ``file_name`` column names them), which ``datasets.load_dataset("imagefolder",
data_dir=...)`` and ``emogen.data.loaders.load_imagefolder`` both read.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Union

import numpy as np
from PIL import Image, ImageOps

from emogen.emotion.categories import canonical_category, get_set
from emogen.emotion.emotion import Emotion, check_unit_range
from emogen.errors import EmotionError

METADATA_FILE = "metadata.jsonl"
IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}

# An in-memory image, or a function that renders one on demand (the procedural world draws lazily).
ImageSource = Union[Image.Image, np.ndarray, Callable[[], Union[Image.Image, np.ndarray]]]


@dataclass(frozen=True, kw_only=True)
class EmotionSample:
    """One image with its emotion labels.

    The image is ``image_path`` (read by ``load_image``, cropped to ``crop_box`` when one is given:
    AffectNet's face boxes) or ``image`` (a PIL image, an HxWx3 uint8 array, or a function returning
    one). Labels that a dataset lacks are None; ``category`` is a canonical name (synonyms such as
    'happy' are accepted and converted) and ``category_set`` the set it was labelled in.
    ``attributes`` keeps dataset-specific extras that must stay JSON-able (EmoSet's scene and
    objects, FindingEmo's original Plutchik label, ...).
    """

    image_path: str | None = None
    image: ImageSource | None = field(default=None, repr=False, compare=False)
    crop_box: tuple[int, int, int, int] | None = None  # (left, top, right, bottom) in pixels
    caption: str = ""
    category: str | None = None
    category_set: str | None = None
    valence: float | None = None
    arousal: float | None = None
    dominance: float | None = None
    intensity: float | None = None
    blendshapes: Mapping[str, float] | None = None
    identity: str | None = None
    source: str = ""
    attributes: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.image_path is None and self.image is None:
            raise EmotionError("an EmotionSample needs image_path or image; got neither")
        if self.image_path is not None:
            object.__setattr__(self, "image_path", os.fspath(self.image_path))
        if self.crop_box is not None:
            object.__setattr__(self, "crop_box", _check_crop_box(self.crop_box))
        if self.category is not None:
            object.__setattr__(self, "category", canonical_category(self.category))
        if self.category_set is not None:
            category_set = get_set(self.category_set)
            if self.category is not None and self.category not in category_set:
                raise EmotionError(
                    f"category {self.category!r} is not in set {category_set.name!r}; "
                    f"accepted: {', '.join(category_set.categories)}"
                )
            object.__setattr__(self, "category_set", category_set.name)
        for name in ("valence", "arousal", "dominance"):
            _set_optional_range(self, name, -1.0, 1.0)
        _set_optional_range(self, "intensity", 0.0, 1.0)
        for name in ("blendshapes", "attributes"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), Mapping):
                raise EmotionError(f"{name} must be a mapping (name -> value), got {getattr(self, name)!r}")
        if self.blendshapes is not None:
            object.__setattr__(
                self,
                "blendshapes",
                {str(k): _finite(f"blendshape {k!r}", v) for k, v in self.blendshapes.items()},
            )
        if self.attributes is not None:
            object.__setattr__(self, "attributes", dict(self.attributes))

    def load_image(self) -> Image.Image:
        """The image as RGB, cropped to ``crop_box``; an EmotionError names an unreadable file."""
        if self.image is not None:
            image = self.image() if callable(self.image) else self.image
            image = Image.fromarray(np.asarray(image, dtype=np.uint8)) if isinstance(image, np.ndarray) else image
        else:
            try:
                with Image.open(self.image_path) as opened:
                    # Web photos often store their rotation in EXIF; show them upright, as viewers do.
                    image = ImageOps.exif_transpose(opened)
                    image.load()
            except (OSError, ValueError, Image.DecompressionBombError) as err:
                raise EmotionError(f"cannot read image {self.image_path}: {err}") from None
        image = image.convert("RGB")
        if self.crop_box is not None:
            image = image.crop(_clip_box(self.crop_box, image.size, self.image_path))
        return image

    def emotion(self, category_set: str | None = None) -> Emotion:
        """The sample's Emotion: from its category when it has one, else from its valence and arousal."""
        target = category_set or self.category_set
        if self.category is not None:
            intensity = 1.0 if self.intensity is None else self.intensity
            return Emotion.from_category(self.category, intensity=intensity, category_set=target)
        if self.valence is not None and self.arousal is not None:
            return Emotion.from_vad(self.valence, self.arousal, self.dominance, self.intensity, category_set=target)
        raise EmotionError(
            f"sample {self.image_path or '(in-memory image)'} from {self.source or 'unknown source'!r} has no "
            "emotion label: it needs a category or both valence and arousal"
        )

    def to_metadata(self, file_name: str | None = None) -> dict:
        """A JSON-able row for an imagefolder ``metadata.jsonl`` (``file_name`` defaults to the path's name)."""
        if file_name is None:
            if self.image_path is None:
                raise EmotionError("to_metadata needs file_name for a sample with an in-memory image")
            file_name = Path(self.image_path).name
        return {
            "file_name": file_name,
            "caption": self.caption,
            "category": self.category,
            "category_set": self.category_set,
            "valence": self.valence,
            "arousal": self.arousal,
            "dominance": self.dominance,
            "intensity": self.intensity,
            "blendshapes": dict(self.blendshapes) if self.blendshapes is not None else None,
            "identity": self.identity,
            "source": self.source,
            "attributes": dict(self.attributes) if self.attributes is not None else None,
        }


def write_imagefolder(
    samples: Iterable[EmotionSample], out_dir: str | os.PathLike, overwrite: bool = False, image_format: str = "png"
) -> Path:
    """Write samples as an imagefolder (``000000.png``, ... + ``metadata.jsonl``) at ``out_dir``.

    Everything is written into a hidden temporary folder beside ``out_dir`` and renamed into place at
    the end, so a failure (an unreadable image, a full disk, Ctrl-C) leaves no half-written dataset.
    A non-empty ``out_dir`` is only replaced with ``overwrite=True``. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    extension = image_format.lower().lstrip(".")
    if extension not in IMAGE_FORMATS:
        raise EmotionError(f"unknown image format {image_format!r}; accepted: {', '.join(IMAGE_FORMATS)}")
    if out_dir.exists() and not out_dir.is_dir():
        raise EmotionError(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise EmotionError(f"{out_dir} is not empty; pass overwrite=True to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        count = 0
        with open(staging / METADATA_FILE, "w", encoding="utf-8") as metadata:
            for index, sample in enumerate(samples):
                file_name = f"{index:06d}.{extension}"
                sample.load_image().save(staging / file_name, format=IMAGE_FORMATS[extension])
                metadata.write(_json_row(sample.to_metadata(file_name), index) + "\n")
                count += 1
        if count == 0:
            raise EmotionError(f"no samples to write to {out_dir}")
        _move_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir


def _json_row(row: dict, index: int) -> str:
    try:
        return json.dumps(row, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise EmotionError(f"sample {index} ({row['file_name']}) has metadata that is not JSON: {err}") from None


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename ``staging`` to ``out_dir``; an existing ``out_dir`` is set aside first and restored on failure."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except BaseException:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _set_optional_range(sample: EmotionSample, name: str, low: float, high: float) -> None:
    value = getattr(sample, name)
    if value is not None:
        object.__setattr__(sample, name, check_unit_range(name, value, low, high))


def _finite(name: str, value: Any) -> float:
    # Rigs differ in their weight ranges (ARKit 0..1, FACS AU intensity 0..5), so only finiteness is checked.
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EmotionError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise EmotionError(f"{name} must be finite, got {value!r}")
    return number


def _check_crop_box(box: Iterable) -> tuple[int, int, int, int]:
    try:
        left, top, right, bottom = (int(v) for v in box)
    except (TypeError, ValueError):
        raise EmotionError(f"crop_box must be four integers (left, top, right, bottom), got {box!r}") from None
    if right <= left or bottom <= top:
        raise EmotionError(f"crop_box must have right > left and bottom > top, got {box!r}")
    return (left, top, right, bottom)


def _clip_box(box: tuple[int, int, int, int], size: tuple[int, int], where: str | None) -> tuple[int, int, int, int]:
    """The part of ``box`` inside an image of ``size``; face boxes may run over the border."""
    width, height = size
    left, top, right, bottom = max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height)
    if right <= left or bottom <= top:
        raise EmotionError(f"crop_box {box} lies outside the {width}x{height} image {where or ''}".rstrip())
    return (left, top, right, bottom)

