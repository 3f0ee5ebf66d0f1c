"""Writing and reading video files: H.264 mp4 (optionally with AAC audio) and GIF.

Encoding goes through an ffmpeg binary: the one bundled in the ``imageio-ffmpeg`` wheel (the ``video``
extra; that binary is a GPL build of ffmpeg with libx264, so it stays optional), else ``ffmpeg`` on
PATH, else ``$EMOGEN_FFMPEG``. Frames are piped to it raw, so nothing but the final file touches disk,
and the file appears in one rename (``emogen.io.atomic_output``): a failed encode leaves no partial file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from emogen.audio import write_wav
from emogen.errors import EmotionError
from emogen.io import atomic_output

INSTALL_HINT = "pip install 'emogen[video]' (or put ffmpeg on PATH, or set EMOGEN_FFMPEG)"
MIN_FPS, MAX_FPS = 1.0, 120.0
VIDEO_SUFFIXES = (".mp4", ".gif")


def ffmpeg_exe() -> str:
    """Path of an ffmpeg binary that can encode H.264 and AAC."""
    override = os.environ.get("EMOGEN_FFMPEG")
    if override:
        if not Path(override).is_file():
            raise EmotionError(f"EMOGEN_FFMPEG={override} is not a file")
        return override
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        pass
    found = shutil.which("ffmpeg")
    if found is None:
        raise EmotionError(f"no ffmpeg binary found to encode video: {INSTALL_HINT}")
    return found


def check_fps(fps: object) -> float:
    """Frames per second as a float in [MIN_FPS, MAX_FPS]; anything else raises EmotionError naming it."""
    try:
        value = float(fps)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EmotionError(f"fps must be a number from {MIN_FPS:g} to {MAX_FPS:g}, got {fps!r}") from None
    if not MIN_FPS <= value <= MAX_FPS:
        raise EmotionError(f"fps must be from {MIN_FPS:g} to {MAX_FPS:g}, got {fps!r}")
    return value


def check_video_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise EmotionError(f"video output {path} must end in one of {', '.join(VIDEO_SUFFIXES)}")
    return path


def _frame_array(frame: object, shape: tuple[int, ...] | None) -> np.ndarray:
    array = np.asarray(frame)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise EmotionError(f"video frames must be HxWx3 uint8 RGB, got dtype {array.dtype} shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise EmotionError(f"all frames must have one size: got {array.shape} after {shape}")
    return np.ascontiguousarray(array)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float,
                audio: np.ndarray | None = None, sample_rate: int | None = None) -> Path:
    """Encode RGB uint8 frames to ``path`` (.mp4: H.264 yuv420p + AAC when audio is given; .gif).

    Odd frame sizes are padded by one pixel (yuv420p needs even sides). Returns ``path``.
    """
    path = check_video_path(path)
    fps = check_fps(fps)
    if audio is not None and (sample_rate is None or sample_rate <= 0):
        raise EmotionError(f"audio needs a positive sample_rate, got {sample_rate!r}")
    iterator = iter(frames)
    try:
        first = _frame_array(next(iterator), None)
    except StopIteration:
        raise EmotionError("a video needs at least one frame, got none") from None
    if path.suffix.lower() == ".gif":
        return _write_gif(path, first, iterator, fps)
    height, width = first.shape[:2]
    with tempfile.TemporaryDirectory(prefix="emogen-video-") as scratch, atomic_output(path) as temporary:
        command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-"]
        if audio is not None:
            wav = Path(scratch) / "audio.wav"
            write_wav(wav, np.asarray(audio, dtype=np.float32), int(sample_rate))
            command += ["-i", str(wav), "-c:a", "aac", "-b:a", "128k"]
        command += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-crf", "18", "-preset", "veryfast", "-movflags", "+faststart", "-f", "mp4", str(temporary)]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            process.stdin.write(first.tobytes())
            for frame in iterator:
                process.stdin.write(_frame_array(frame, first.shape).tobytes())
            process.stdin.close()
        except BaseException:
            process.kill()
            process.wait()
            raise
        error = process.stderr.read().decode(errors="replace")
        if process.wait() != 0:
            raise RuntimeError(f"ffmpeg failed to encode {path}: {error.strip()}")
    return path


def _write_gif(path: Path, first: np.ndarray, rest: Iterable[np.ndarray], fps: float) -> Path:
    from PIL import Image

    images = [Image.fromarray(first)] + [Image.fromarray(_frame_array(f, first.shape)) for f in rest]
    with atomic_output(path) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
    return path


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """All frames of a video file as (N, H, W, 3) uint8 RGB, and its frame rate."""
    path = Path(path)
    if not path.is_file():
        raise EmotionError(f"{path} is not a file")
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    width, height, fps = _stream_info(probe.stderr, path)
    decoded = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True)
    if decoded.returncode != 0:
        raise EmotionError(f"{path} is not a readable video: {decoded.stderr.decode(errors='replace').strip()}")
    frames = np.frombuffer(decoded.stdout, dtype=np.uint8)
    return frames.reshape(-1, height, width, 3), fps


def _stream_info(listing: str, path: Path) -> tuple[int, int, float]:
    """Width, height and fps from ffmpeg's stream listing (its "Video:" line)."""
    import re

    for line in listing.splitlines():
        if "Video:" not in line:
            continue
        size = re.search(r"\b(\d{2,5})x(\d{2,5})\b", line)
        rate = re.search(r"([\d.]+) fps", line) or re.search(r"([\d.]+) tbr", line)
        if size and rate:
            return int(size.group(1)), int(size.group(2)), float(rate.group(1))
    raise EmotionError(f"{path} has no readable video stream")


def has_audio_stream(path: str | os.PathLike) -> bool:
    """Whether the file carries an audio stream (for checks on written talking-head videos)."""
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return any("Audio:" in line for line in probe.stderr.splitlines())
