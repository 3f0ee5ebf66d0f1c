"""Loaders for real emotion datasets, read from local files in each dataset's own layout.

Every loader returns ``Loaded``: a list of ``EmotionSample`` (images are read lazily) whose ``.report``,
a ``LoadReport``, counts what was loaded and what was skipped, and why. A row that cannot be used
(a missing image, an unreadable value, a label the dataset marks as unusable) is skipped and counted,
never a crash, and one ``DataWarning`` sums the skips up. A missing annotation file, folder or required
column is an ``EmotionError`` that names it and says what is accepted; so is a file from which no row
at all could be used (usually a wrong image root).

Formats (each loader's docstring has the details):
    load_affectnet    AffectNet's training.csv / validation.csv (Mollahosseini et al. 2017)
    load_emoset       EmoSet-118K: image/, annotation/, train|val|test.json (Yang et al. 2023)
    load_findingemo   FindingEmo's annotations_single.ann (Mertens et al. 2024)
    load_imagefolder  a Hugging Face imagefolder with metadata.jsonl / metadata.csv, or one folder per category

``check_images`` decodes every image once and drops the unreadable ones; ``EmotionImageDataset`` wraps
samples as a torch ``Dataset`` of tensors for training.
"""
from __future__ import annotations

import csv
import json
import math
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np
import torch
from PIL import Image, ImageOps

from emogen.data.schema import METADATA_FILE, EmotionSample
from emogen.emotion.categories import canonical_category, get_set, home_set
from emogen.emotion.emotion import Emotion
from emogen.errors import EmotionError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
EXAMPLES_PER_REASON = 3


class DataWarning(UserWarning):
    """Rows were skipped while loading a dataset (the LoadReport has the counts)."""


@dataclass
class LoadReport:
    """What one loader call did: samples loaded, rows skipped by reason, samples loaded incomplete."""

    source: str
    path: str
    loaded: int = 0
    skipped: Counter = field(default_factory=Counter)
    incomplete: Counter = field(default_factory=Counter)  # loaded, but part of the row was unusable
    examples: dict[str, list[str]] = field(default_factory=dict)  # first few locations per reason

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        self._example(reason, where)

    def note(self, reason: str, where: str) -> None:
        self.incomplete[reason] += 1
        self._example(reason, where)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        text = f"{self.source} {self.path}: loaded {self.loaded}"
        for title, counts in (("skipped", self.skipped), ("incomplete", self.incomplete)):
            if counts:
                detail = ", ".join(f"{reason}: {n}" for reason, n in counts.most_common())
                text += f"; {title} {sum(counts.values())} ({detail})"
        examples = [places[0] for places in self.examples.values()]
        if examples:
            text += "; e.g. " + " | ".join(examples)
        return text

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "path": self.path,
            "loaded": self.loaded,
            "skipped": dict(self.skipped),
            "incomplete": dict(self.incomplete),
            "examples": {reason: list(places) for reason, places in self.examples.items()},
        }

    def _example(self, reason: str, where: str) -> None:
        places = self.examples.setdefault(reason, [])
        if len(places) < EXAMPLES_PER_REASON:
            places.append(where)


class Loaded(list):
    """The samples a loader read (a list of EmotionSample), with its LoadReport as ``.report``."""

    def __init__(self, samples: Iterable[EmotionSample], report: LoadReport) -> None:
        super().__init__(samples)
        self.report = report


class _Skip(Exception):
    """Raised inside a row converter: skip this row for ``reason`` (``detail`` says what was wrong)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


# ----- AffectNet ----------------------------------------------------------------------------------

AFFECTNET_COLUMNS = (
    "subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
    "facial_landmarks", "expression", "valence", "arousal",
)
# Expression codes from the AffectNet paper (Mollahosseini, Hasani & Mahoor 2017, IEEE TAC 10(1)).
AFFECTNET_EXPRESSIONS = {
    0: "neutral", 1: "joy", 2: "sadness", 3: "surprise", 4: "fear", 5: "disgust", 6: "anger", 7: "contempt",
}
AFFECTNET_UNUSABLE = {8: "None", 9: "Uncertain", 10: "No-Face"}
AFFECTNET_MISSING_VA = -2.0
AFFECTNET_CAPTION = "a photo of a person's face"


def load_affectnet(csv_path: str | os.PathLike, image_root: str | os.PathLike | None = None,
                   crop_faces: bool = True) -> Loaded:
    """AffectNet annotations (``training.csv`` / ``validation.csv``) -> samples labelled in MEAD-8.

    Columns as AffectNet ships them: subDirectory_filePath (relative to ``image_root``, by default
    the CSV's folder; in the release that is ``Manually_Annotated_Images/``), face_x, face_y,
    face_width, face_height (the face box, in pixels), facial_landmarks (not used), expression,
    valence, arousal. Only subDirectory_filePath and expression are required. A file whose first
    line is a data row is read with the columns in that order.

    Expression codes 0-7 are neutral, happy, sad, surprise, fear, disgust, anger, contempt; rows with
    8 (None), 9 (Uncertain) or 10 (No-Face) are skipped and counted. Valence and arousal are already
    in [-1, 1]; -2 marks them missing (kept as None). With ``crop_faces`` the image is cropped to the
    face box on loading (clipped to the image; a box of zero size means "no box").
    """
    csv_path = _existing_file(csv_path, "AffectNet annotation CSV (training.csv or validation.csv)")
    root = _existing_dir(image_root, "AffectNet image root") if image_root is not None else csv_path.parent
    report = LoadReport("affectnet", str(csv_path))
    rows = _read_csv(csv_path, required=("subDirectory_filePath", "expression"), headerless=AFFECTNET_COLUMNS)

    def convert(where: str, row: dict[str, str]) -> EmotionSample:
        code = _parse_int(row["expression"], "expression")
        if code in AFFECTNET_UNUSABLE:
            raise _Skip(f"expression {code} ({AFFECTNET_UNUSABLE[code]})", f"expression {code}")
        if code not in AFFECTNET_EXPRESSIONS:
            raise _Skip("bad value", f"expression {code} is not a code in 0..10")
        valence, arousal = (_affectnet_va(row.get(name), name) for name in ("valence", "arousal"))
        box = _affectnet_face_box(row) if crop_faces else None
        return EmotionSample(
            image_path=str(_existing_image(root, row["subDirectory_filePath"])),
            crop_box=box,
            caption=AFFECTNET_CAPTION,
            category=AFFECTNET_EXPRESSIONS[code],
            category_set="mead8",
            valence=valence,
            arousal=arousal,
            source="affectnet",
        )

    return _collect(rows, convert, report)


def _affectnet_va(text: str | None, name: str) -> float | None:
    if _is_missing(text):
        return None
    value = _parse_float(text, name)
    if value == AFFECTNET_MISSING_VA:
        return None
    if not -1.0 <= value <= 1.0:
        raise _Skip("bad value", f"{name} {text!r} is outside [-1, 1] (and is not -2, 'missing')")
    return value


def _affectnet_face_box(row: Mapping[str, str | None]) -> tuple[int, int, int, int] | None:
    names = ("face_x", "face_y", "face_width", "face_height")
    if all(_is_missing(row.get(name)) for name in names):
        return None
    x, y, width, height = (_parse_int(row.get(name), name) for name in names)
    if width <= 0 or height <= 0:
        return None
    return (x, y, x + width, y + height)


# ----- EmoSet ---------------------------------------------------------------------------------------

EMOSET_ATTRIBUTES = ("brightness", "colorfulness", "scene", "object", "facial_expression", "human_action")
EMOSET_SPLITS = ("train", "val", "test")


def load_emoset(root: str | os.PathLike, split: str | None = "train") -> Loaded:
    """EmoSet-118K (Mikels-8 labels) -> samples labelled in mikels8.

    Layout, from the dataset's README (github.com/JingyuanYY/EmoSet)::

        root/info.json                                     label <-> index maps (not needed here)
        root/train.json, val.json, test.json               [[emotion, image_id, image_path, annotation_path], ...]
        root/image/<emotion>/<image_id>.jpg
        root/annotation/<emotion>/<image_id>.json          {"emotion", "brightness", "colorfulness",
                                                            "scene", "object", "facial_expression", "human_action"}

    Paths in the split files are relative to ``root``; entries of three items (without image_id) are
    accepted too. With ``split=None`` every image under ``image/<emotion>/`` is loaded instead.
    Attributes are optional in EmoSet: the ones present are kept in ``sample.attributes`` and the
    caption is built from scene, objects and human action (never from emotion words). A missing
    or unreadable annotation file loads the sample without attributes (counted as incomplete); an
    annotation whose emotion differs from the split file's skips the sample.
    """
    root = _existing_dir(root, "EmoSet root")
    if split is None:
        location, entries = str(root / "image"), _scan_emoset(root)
    else:
        split_file = root / f"{split}.json"
        if not split_file.is_file():
            found = [p.name for p in sorted(root.glob("*.json")) if p.stem in EMOSET_SPLITS]
            raise EmotionError(
                f"EmoSet split file {split_file} not found; accepted splits: {', '.join(EMOSET_SPLITS)} "
                f"(found here: {', '.join(found) or 'none'}), or split=None to scan {root / 'image'}"
            )
        location, entries = str(split_file), _read_emoset_split(split_file)
    report = LoadReport("emoset", location)
    mikels = get_set("mikels8")

    def convert(where: str, entry: Any) -> EmotionSample:
        if not (isinstance(entry, (list, tuple)) and len(entry) in (3, 4) and all(isinstance(e, str) for e in entry)):
            raise _Skip("malformed entry", f"expected [emotion, image_id, image_path, annotation_path], got {entry!r}")
        label, image_rel, annotation_rel = entry[0], entry[-2], entry[-1]
        category = _known_category(label)
        if category not in mikels:
            raise _Skip("unknown emotion label", f"{label!r} is not one of {', '.join(mikels.categories)}")
        image_path = _existing_image(root, image_rel)
        attributes = {"image_id": entry[1] if len(entry) == 4 else Path(image_rel).stem}
        annotation = _read_emoset_annotation(root / annotation_rel)
        if isinstance(annotation, str):
            report.note(annotation, f"{where}: {root / annotation_rel}")
        else:
            labelled = annotation.get("emotion")
            if labelled is not None and _known_category(str(labelled)) != category:
                raise _Skip("conflicting label", f"split says {label!r}, {annotation_rel} says {labelled!r}")
            attributes.update({k: annotation[k] for k in EMOSET_ATTRIBUTES if annotation.get(k) not in (None, "", [])})
        return EmotionSample(
            image_path=str(image_path),
            caption=_emoset_caption(attributes),
            category=category,
            category_set=mikels.name,
            source="emoset",
            attributes=attributes,
        )

    return _collect(entries, convert, report)


def _known_category(label: str) -> str | None:
    try:
        return canonical_category(label)
    except EmotionError:
        return None


def _read_emoset_split(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        with open(path, encoding="utf-8") as file:
            entries = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise EmotionError(f"cannot read EmoSet split file {path}: {err}") from None
    if not isinstance(entries, list):
        raise EmotionError(
            f"EmoSet split file {path} must hold a JSON list of [emotion, image_id, image_path, annotation_path], "
            f"got a {type(entries).__name__}"
        )
    for index, entry in enumerate(entries):
        yield f"{path}[{index}]", entry


def _scan_emoset(root: Path) -> Iterator[tuple[str, Any]]:
    images = _existing_dir(root / "image", "EmoSet image folder")
    for folder in sorted(p for p in images.iterdir() if p.is_dir()):
        for image in _image_files(folder):
            yield str(image), (folder.name, image.stem, f"image/{folder.name}/{image.name}",
                               f"annotation/{folder.name}/{image.stem}.json")


def _read_emoset_annotation(path: Path) -> dict | str:
    """The annotation dict, or the reason it is unusable."""
    if not path.is_file():
        return "missing annotation"
    try:
        with open(path, encoding="utf-8") as file:
            annotation = json.load(file)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "unreadable annotation"
    return annotation if isinstance(annotation, dict) else "unreadable annotation"


def _emoset_caption(attributes: Mapping[str, Any]) -> str:
    def words(value: Any) -> str:
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(item).replace("_", " ") for item in items)

    caption = "a photo"
    if "scene" in attributes:
        caption += f" of {words(attributes['scene'])}"
    if "object" in attributes:
        caption += f" with {words(attributes['object'])}"
    if "human_action" in attributes:
        caption += f", {words(attributes['human_action'])}"
    return caption


# ----- FindingEmo -------------------------------------------------------------------------------------

FINDINGEMO_VALENCE_RANGE = (-3.0, 3.0)
FINDINGEMO_AROUSAL_RANGE = (0.0, 6.0)
FINDINGEMO_CAPTION = "a photo of people"

# Plutchik's wheel (Plutchik, R. (1980). Emotion: A Psychoevolutionary Synthesis; FindingEmo's label
# set): each primary emotion at three intensities, mildest first.
PLUTCHIK_WHEEL = {
    "joy": ("serenity", "joy", "ecstasy"),
    "trust": ("acceptance", "trust", "admiration"),
    "fear": ("apprehension", "fear", "terror"),
    "surprise": ("distraction", "surprise", "amazement"),
    "sadness": ("pensiveness", "sadness", "grief"),
    "disgust": ("boredom", "disgust", "loathing"),
    "anger": ("annoyance", "anger", "rage"),
    "anticipation": ("interest", "anticipation", "vigilance"),
}
# Trust and anticipation have no emogen category. Distraction and boredom are the mild tiers of
# surprise and disgust on the wheel, but in ordinary use name different feelings, so they keep VA only.
PLUTCHIK_PRIMARY_TO_EMOGEN = {p: p for p in ("joy", "fear", "surprise", "sadness", "disgust", "anger")}
PLUTCHIK_VA_ONLY = ("distraction", "boredom")
PLUTCHIK_TIER_INTENSITY = (1 / 3, 2 / 3, 1.0)
# label -> (emogen category or None, intensity or None); all mapped categories are in Ekman-7.
PLUTCHIK_TO_EMOGEN: dict[str, tuple[str | None, float | None]] = {
    label: (
        (PLUTCHIK_PRIMARY_TO_EMOGEN[primary], PLUTCHIK_TIER_INTENSITY[tier])
        if primary in PLUTCHIK_PRIMARY_TO_EMOGEN and label not in PLUTCHIK_VA_ONLY
        else (None, None)
    )
    for primary, labels in PLUTCHIK_WHEEL.items()
    for tier, label in enumerate(labels)
}


def load_findingemo(annotations_path: str | os.PathLike, image_root: str | os.PathLike,
                    include_rejected: bool = False) -> Loaded:
    """FindingEmo annotations (``annotations_single.ann``, a CSV) -> samples with valence and arousal.

    Columns as in the released file (findingemo-light 1.0.0 on PyPI; names as read by the authors'
    and others' analysis code): user, image_path, reject, tag, age, valence, arousal, emotion,
    dec_factors, ambiguity, fmri_candidate, datetime. Required: image_path, valence, arousal.
    ``image_path`` (e.g. ``/Run_1/<query>/<name>.jpg``) is taken relative to ``image_root``, the
    folder the images were downloaded into (the dataset ships URLs only, so missing images are
    common: they are skipped and counted). Rows with ``reject`` true are skipped unless
    ``include_rejected``.

    Valence is rated on -3..3 and arousal on 0..6 (Mertens et al. 2024); both are rescaled linearly
    to [-1, 1]: v / 3 and (a - 3) / 3. ``emotion`` is one of Plutchik's 24 labels (any case); it maps
    to the emogen category of its primary, at intensity 1/3, 2/3 or 1 by its tier on the wheel
    (serenity/joy/ecstasy -> joy; apprehension/fear/terror -> fear; surprise/amazement -> surprise;
    pensiveness/sadness/grief -> sadness; disgust/loathing -> disgust; annoyance/anger/rage -> anger).
    Trust, anticipation and their tiers (acceptance, admiration, interest, vigilance), distraction
    and boredom have no counterpart: those samples keep valence and arousal only. The original
    label and the ambiguity rating are kept in ``sample.attributes``.
    """
    path = _existing_file(annotations_path, "FindingEmo annotation file (annotations_single.ann)")
    root = _existing_dir(image_root, "FindingEmo image root")
    report = LoadReport("findingemo", str(path))
    rows = _read_csv(path, required=("image_path", "valence", "arousal"))

    def convert(where: str, row: dict[str, str]) -> EmotionSample:
        if not include_rejected and _is_true(row.get("reject")):
            raise _Skip("rejected by annotator", f"reject={row.get('reject')!r}")
        valence = _rescale(_parse_float(row["valence"], "valence"), FINDINGEMO_VALENCE_RANGE, "valence")
        arousal = _rescale(_parse_float(row["arousal"], "arousal"), FINDINGEMO_AROUSAL_RANGE, "arousal")
        image_path = _existing_image(root, row["image_path"])
        label = (row.get("emotion") or "").strip()
        category, intensity = PLUTCHIK_TO_EMOGEN.get(label.lower(), (None, None))
        if label and label.lower() not in PLUTCHIK_TO_EMOGEN:
            report.note("unknown Plutchik label (kept VA only)", f"{where}: {label!r}")
        attributes = {"plutchik": label or None, "ambiguity": _optional_number(row.get("ambiguity"))}
        return EmotionSample(
            image_path=str(image_path),
            caption=FINDINGEMO_CAPTION,
            category=category,
            category_set="ekman7" if category else None,
            valence=valence,
            arousal=arousal,
            intensity=intensity,
            source="findingemo",
            attributes=attributes,
        )

    return _collect(rows, convert, report)


def _rescale(value: float, bounds: tuple[float, float], name: str) -> float:
    low, high = bounds
    if not low <= value <= high:
        raise _Skip("bad value", f"{name} {value:g} is outside the dataset's scale [{low:g}, {high:g}]")
    return 2.0 * (value - low) / (high - low) - 1.0


# ----- imagefolder ------------------------------------------------------------------------------------

# Columns of an imagefolder metadata row that map onto EmotionSample; others go to attributes.
_METADATA_FIELDS = ("caption", "category", "category_set", "valence", "arousal", "dominance", "intensity",
                    "blendshapes", "identity", "source", "attributes")
_METADATA_NUMBERS = ("valence", "arousal", "dominance", "intensity")
# "text" is the caption column name many Hugging Face datasets use.
_CAPTION_COLUMNS = ("caption", "text")


def load_imagefolder(root: str | os.PathLike) -> Loaded:
    """A Hugging Face imagefolder, or a folder with one sub-folder per category.

    With ``metadata.jsonl`` (or ``metadata.csv``) in ``root``: one row per image, ``file_name``
    (relative to ``root``) required, and any of caption (or text), category, category_set, valence,
    arousal, dominance, intensity, blendshapes, identity, source, attributes; other columns are kept
    in ``sample.attributes``. This is what ``write_imagefolder`` writes.

    Without metadata: every sub-folder named after an emotion (any word ``canonical_category``
    knows: 'happy', 'sad', 'anger', ...) holds images of that category; other folders are skipped
    and counted. The category set is the first of ekman7, mead8, mikels8 holding all the categories.
    """
    root = _existing_dir(root, "imagefolder root")
    for name, reader in ((METADATA_FILE, _read_jsonl), ("metadata.csv", _read_csv)):
        if (root / name).is_file():
            rows = reader(root / name, required=("file_name",))
            report = LoadReport("imagefolder", str(root / name))
            return _collect(rows, lambda where, row: _metadata_sample(root, row), report)
    return _load_class_folders(root)


def _metadata_sample(root: Path, row: Mapping[str, Any]) -> EmotionSample:
    values = {name: (None if _is_missing(row.get(name)) else row.get(name)) for name in _METADATA_FIELDS}
    for name in _METADATA_NUMBERS:
        values[name] = _optional_number(values[name], name)
    for name in ("blendshapes", "attributes"):
        if isinstance(values[name], str):  # a CSV cell holding JSON
            values[name] = _parse_json_cell(values[name], name)
        if values[name] is not None and not isinstance(values[name], Mapping):
            raise _Skip("bad value", f"{name} must be a JSON object, got {values[name]!r}")
    caption = next((row[c] for c in _CAPTION_COLUMNS if not _is_missing(row.get(c))), "")
    extras = {k: v for k, v in row.items() if k not in (*_METADATA_FIELDS, *_CAPTION_COLUMNS, "file_name")}
    attributes = {**(values["attributes"] or {}), **extras} or None
    return EmotionSample(
        image_path=str(_existing_image(root, str(row["file_name"]))),
        caption=str(caption),
        category=values["category"],
        category_set=values["category_set"],
        valence=values["valence"],
        arousal=values["arousal"],
        dominance=values["dominance"],
        intensity=values["intensity"],
        blendshapes=values["blendshapes"],
        identity=None if values["identity"] is None else str(values["identity"]),
        source=str(values["source"] or "imagefolder"),
        attributes=attributes,
    )


def _load_class_folders(root: Path) -> Loaded:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    categories: dict[Path, str] = {}
    for folder in folders:
        try:
            categories[folder] = canonical_category(folder.name)
        except EmotionError:
            continue
    if not categories:
        raise EmotionError(
            f"{root} has no {METADATA_FILE} or metadata.csv, and none of its folders "
            f"({', '.join(p.name for p in folders) or 'none'}) is named after an emotion; accepted: a metadata "
            "file with a file_name column, or folders named like neutral, joy/happy, sadness/sad, anger/angry, "
            "fear, disgust, surprise, contempt, amusement, awe, contentment, excitement"
        )
    home = home_set(sorted(set(categories.values())))
    set_name = home.name if all(c in home for c in categories.values()) else None
    report = LoadReport("imagefolder", str(root))
    samples = []
    for folder in folders:
        for image in _image_files(folder):
            if folder not in categories:
                report.skip("folder not named after an emotion", str(image))
                continue
            samples.append(EmotionSample(image_path=str(image), category=categories[folder], category_set=set_name,
                                         source="imagefolder"))
    return _finish(samples, report)


def check_images(samples: Iterable[EmotionSample]) -> Loaded:
    """The samples whose image decodes (and whose crop box fits it); the others are skipped and counted.

    Loaders only check that image files exist; run this once over a new download (it decodes every
    image) so that a corrupt file cannot stop a training run halfway through an epoch.
    """
    report = LoadReport("check_images", "(samples)")

    def convert(where: str, sample: EmotionSample) -> EmotionSample:
        try:
            sample.load_image()
        except EmotionError as err:
            raise _Skip("unreadable image", str(err)) from None
        return sample

    return _collect(((f"sample {i}", s) for i, s in enumerate(samples)), convert, report)


# ----- torch Dataset ---------------------------------------------------------------------------------


class EmotionImageDataset(torch.utils.data.Dataset):
    """Samples as training tensors.

    Each item is a dict: ``pixel_values`` (float32, 3 x H x W, in [-1, 1]; the image is centre-cropped
    to the aspect of ``size`` and resized), ``category`` (int64 index in ``category_set``, -1 when the
    sample has no category; a category the set lacks becomes the set's closest one, by the roll-up
    ``Emotion.to_set`` uses), ``valence`` and ``arousal`` (float32, 0 when unknown) and ``has_va``
    (bool: whether both are known, to mask the VA loss). ``size`` is an int or (height, width).
    ``transform``, if given, maps the PIL image to a PIL image before resizing (augmentation).
    """

    def __init__(self, samples: Iterable[EmotionSample], size: int | tuple[int, int],
                 transform: Callable[[Image.Image], Image.Image] | None = None,
                 category_set: str = "ekman7") -> None:
        self.samples = list(samples)
        self.size = _check_size(size)
        self.transform = transform
        self.category_set = get_set(category_set)
        self._indices: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.samples[index]
        image = sample.load_image()
        if self.transform is not None:
            image = self.transform(image)
            if not isinstance(image, Image.Image):
                raise EmotionError(f"transform must return a PIL image, got {type(image).__name__}")
        height, width = self.size
        image = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.BICUBIC)
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).permute(2, 0, 1) / 127.5 - 1.0
        has_va = sample.valence is not None and sample.arousal is not None
        return {
            "pixel_values": pixels,
            "category": torch.tensor(self.category_index(sample), dtype=torch.long),
            "valence": torch.tensor(sample.valence if has_va else 0.0, dtype=torch.float32),
            "arousal": torch.tensor(sample.arousal if has_va else 0.0, dtype=torch.float32),
            "has_va": torch.tensor(has_va),
        }

    def category_index(self, sample: EmotionSample) -> int:
        """The sample's category as an index in this dataset's set (-1 when it has none)."""
        if sample.category is None:
            return -1
        if sample.category not in self._indices:
            top = Emotion.from_category(sample.category, category_set=self.category_set.name).top
            self._indices[sample.category] = self.category_set.index(top)
        return self._indices[sample.category]


def _check_size(size: int | tuple[int, int]) -> tuple[int, int]:
    pair = (size, size) if isinstance(size, int) else tuple(size)
    if len(pair) != 2 or not all(isinstance(s, int) and s > 0 for s in pair):
        raise EmotionError(f"size must be a positive int or (height, width) of positive ints, got {size!r}")
    return pair  # type: ignore[return-value]


FORMATS: dict[str, Callable[..., Loaded]] = {
    "affectnet": load_affectnet,
    "emoset": load_emoset,
    "findingemo": load_findingemo,
    "imagefolder": load_imagefolder,
}


# ----- shared reading helpers ----------------------------------------------------------------------------


def _collect(rows: Iterable[tuple[str, Any]], convert: Callable[[str, Any], EmotionSample], report: LoadReport
             ) -> Loaded:
    """``convert(location, row)`` for every row; rows that fail are skipped and counted under their reason."""
    samples = []
    for where, row in rows:
        try:
            if isinstance(row, _Skip):  # the reader could not make a row of this line
                raise row
            samples.append(convert(where, row))
        except _Skip as skip:
            report.skip(skip.reason, f"{where}: {skip}")
        except EmotionError as err:
            report.skip("invalid label", f"{where}: {err}")
    return _finish(samples, report)


def _finish(samples: list[EmotionSample], report: LoadReport) -> Loaded:
    report.loaded = len(samples)
    if not samples:
        raise EmotionError(f"no usable samples: {report.summary()}")
    if report.skipped or report.incomplete:
        warnings.warn(report.summary(), DataWarning, stacklevel=4)  # the caller of the public loader
    return Loaded(samples, report)


def _read_csv(path: Path, required: tuple[str, ...], headerless: tuple[str, ...] | None = None
              ) -> Iterator[tuple[str, dict[str, str]]]:
    """(``path:line``, row) for every data row; the header must hold ``required``.

    With ``headerless`` (the format's column order), a first line holding a number is data, not a header.
    The header is checked before the first row is yielded, so a wrong file fails at once.
    """
    file = _open_text(path)
    reader = csv.reader(file)
    try:
        header = [name.strip() for name in next(reader, [])]
    except csv.Error as err:
        file.close()
        raise EmotionError(f"{path}:1: not a readable CSV file: {err}") from None
    first_row = None
    if headerless is not None and len(header) == len(headerless) and any(_is_number(v) for v in header):
        header, first_row = list(headerless), header
    missing = [name for name in required if name not in header]
    if missing:
        file.close()
        raise EmotionError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'no header'}; "
            f"required: {', '.join(required)}"
        )
    return _csv_rows(path, file, reader, header, first_row)


def _csv_rows(path: Path, file: Any, reader: Any, header: list[str], first_row: list[str] | None
              ) -> Iterator[tuple[str, dict[str, str]]]:
    with file:
        if first_row is not None:
            yield f"{path}:1", _csv_row(header, first_row)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise EmotionError(f"{path}:{reader.line_num}: not readable as CSV: {err}") from None
            if not values or all(not v.strip() for v in values):
                continue
            yield f"{path}:{reader.line_num}", _csv_row(header, values)


def _csv_row(header: list[str], values: list[str]) -> dict[str, str] | _Skip:
    if len(values) != len(header):
        return _Skip("malformed row", f"{len(values)} fields, the header has {len(header)}")
    return dict(zip(header, values))


def _read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict | _Skip]]:
    """(``path:line``, row) for every line; a line that is not a JSON object holding ``required`` is a _Skip."""
    with _open_text(path) as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                yield f"{path}:{number}", _Skip("malformed row", f"not valid JSON ({err.msg})")
                continue
            if not isinstance(row, dict):
                yield f"{path}:{number}", _Skip("malformed row", f"expected a JSON object, got {type(row).__name__}")
                continue
            missing = [name for name in required if _is_missing(row.get(name))]
            if missing:
                detail = f"no {', '.join(missing)}; required: {', '.join(required)}"
                yield f"{path}:{number}", _Skip("malformed row", detail)
                continue
            yield f"{path}:{number}", row


def _open_text(path: Path) -> Any:
    try:
        # utf-8-sig: spreadsheet programs often start CSV files with a byte-order mark.
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as err:
        raise EmotionError(f"cannot open {path}: {err}") from None


def _existing_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise EmotionError(f"{what} not found: {path}")
    return path


def _existing_dir(path: str | os.PathLike, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise EmotionError(f"{what} is not a folder: {path}")
    return path


def _existing_image(root: Path, relative: str) -> Path:
    relative = relative.strip().replace("\\", "/").lstrip("/")
    if not relative:
        raise _Skip("malformed row", "empty image path")
    path = root / relative
    if not path.is_file():
        raise _Skip("missing image", f"{path} not found")
    return path


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _is_missing(value: Any) -> bool:
    """True for None, '' and NaN: the ways a table leaves a cell empty."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, float) and math.isnan(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_true(value: str | None) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y", "t")


def _parse_float(text: Any, name: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise _Skip("bad value", f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Skip("bad value", f"{name} {text!r} is not a finite number")
    return value


def _parse_int(text: Any, name: str) -> int:
    value = _parse_float(text, name)
    if value != int(value):
        raise _Skip("bad value", f"{name} {text!r} is not a whole number")
    return int(value)


def _optional_number(value: Any, name: str = "value") -> float | None:
    return None if _is_missing(value) else _parse_float(value, name)


def _parse_json_cell(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise _Skip("bad value", f"{name} {text!r} is not valid JSON") from None
