"""``manifest.jsonl``: one line per finished job, appended, never rewritten.

Why a job is neither lost nor done twice, whatever moment a crash or ``kill -9`` hits:

- the output file appears in one rename (emogen.io.atomic_output), is fsynced, and only then is the
  job's line appended; a job counts as done when its line AND its file exist;
- killed before the rename: no file (at most a hidden temporary, removed on restart): the job is redone;
- killed between rename and line: the file exists without a line: redone, the file replaced in one
  rename, and one line written;
- the line is one ``write`` of an O_APPEND descriptor under an exclusive lock, fsynced: a kill lands
  before or after it, never inside. A torn last line can only come from a power cut; readers skip it and
  the next append starts on a fresh line;
- ranks append to the same file under the lock (``.manifest.lock``, a separate file so that the
  manifest itself is never locked), and a rank only ever writes lines of its own jobs.

A job whose file was deleted after it finished is redone and gets a second line; the last line of an
id is the one that counts.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MANIFEST = "manifest.jsonl"
LOCK = ".manifest.lock"


@contextmanager
def _locked(folder: Path, mode: int) -> Iterator[None]:
    descriptor = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, mode)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def read_manifest(folder: str | Path) -> dict[str, dict]:
    """Job id -> its last complete manifest line (an empty dict when there is no manifest yet)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        return {}
    with _locked(folder, fcntl.LOCK_SH):
        data = path.read_bytes()
    records: dict[str, dict] = {}
    for line in data.split(b"\n"):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # empty, or the torn tail of a power cut: that job is simply not done
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            records[record["id"]] = record
    return records


class ManifestWriter:
    """Appends finished jobs' lines to ``folder/manifest.jsonl``, each durable before ``append`` returns."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._descriptor = os.open(self.folder / MANIFEST, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)

    def append(self, record: dict) -> None:
        line = (json.dumps(_finite(record), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        with _locked(self.folder, fcntl.LOCK_EX):
            size = os.fstat(self._descriptor).st_size
            if size and os.pread(self._descriptor, 1, size - 1) != b"\n":
                line = b"\n" + line  # after a torn tail: never glue a line onto it
            os.write(self._descriptor, line)
            os.fsync(self._descriptor)

    def close(self) -> None:
        os.close(self._descriptor)

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_durable(path: Path) -> None:
    """Flush a finished output to disk, so that a manifest line never outlives its file's contents."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _finite(value):
    """``value`` with NaN and infinities as null: JSON has no spelling for them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
