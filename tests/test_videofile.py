"""emogen.videofile: real ffmpeg encodes, read back; bad input names what is wrong; no partial file."""
from __future__ import annotations

import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.videofile import check_fps, has_audio_stream, read_video, write_video


def frames(n: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    ramp = np.linspace(0, 255, n).astype(np.uint8)
    return [np.full((height, width, 3), value, np.uint8) for value in ramp]


def test_mp4_with_audio_round_trip(tmp_path):
    audio = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    path = write_video(tmp_path / "clip.mp4", frames(25), 25, audio=audio, sample_rate=16000)
    decoded, fps = read_video(path)
    assert decoded.shape == (25, 48, 64, 3) and fps == 25
    assert abs(float(decoded[-1].mean()) - 255) < 3 and float(decoded[0].mean()) < 3  # lossy, but close
    assert has_audio_stream(path)
    assert not has_audio_stream(write_video(tmp_path / "silent.mp4", frames(5), 10))


def test_odd_sizes_are_padded_and_gif_is_written(tmp_path):
    decoded, _ = read_video(write_video(tmp_path / "odd.mp4", frames(3, 33, 47), 8))
    assert decoded.shape[1:3] == (34, 48)
    from PIL import Image

    with Image.open(write_video(tmp_path / "clip.gif", frames(4), 10)) as gif:
        assert gif.n_frames == 4


@pytest.mark.parametrize("fps", [0, 0.5, 121, "fast", None, float("nan")])
def test_fps_out_of_range(fps):
    with pytest.raises(EmotionError, match="fps must be"):
        check_fps(fps)


def test_bad_input_leaves_no_file(tmp_path):
    with pytest.raises(EmotionError, match="at least one frame"):
        write_video(tmp_path / "none.mp4", [], 25)
    with pytest.raises(EmotionError, match="must end in one of .mp4, .gif"):
        write_video(tmp_path / "clip.avi", frames(2), 25)
    mixed = frames(3) + [np.zeros((10, 10, 3), np.uint8)]
    with pytest.raises(EmotionError, match="one size"):
        write_video(tmp_path / "mixed.mp4", mixed, 25)
    with pytest.raises(EmotionError, match="uint8 RGB"):
        write_video(tmp_path / "float.mp4", [np.zeros((8, 8, 3), np.float32)], 25)
    assert list(tmp_path.iterdir()) == []  # not even a temporary


def test_an_existing_file_survives_a_failed_write(tmp_path):
    path = write_video(tmp_path / "keep.mp4", frames(4), 25)
    before = path.read_bytes()
    with pytest.raises(EmotionError):
        write_video(path, frames(2) + [np.zeros((4, 4, 3), np.uint8)], 25)
    assert path.read_bytes() == before
    with pytest.raises(EmotionError, match="no readable video stream"):
        (tmp_path / "fake.mp4").write_bytes(b"not a video")
        read_video(tmp_path / "fake.mp4")
