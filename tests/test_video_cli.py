"""`emogen video` end to end with a tiny saved model (real ffmpeg, real EmoFaces scorer), and its bad input."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

PROMPT = "a cartoon portrait of a person with curly auburn hair"


def emogen(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "emogen.cli", "video", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from emogen.video.pipeline import EmotionVideoPipeline
    from emogen.video.tiny import tiny_video_components

    folder = tmp_path_factory.mktemp("tiny-video-model")
    EmotionVideoPipeline(**tiny_video_components(mode="both", pixel_space=True)).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_text_to_video_writes_mp4_gif_and_per_frame_sidecar(tmp_path, tiny_model):
    from emogen.videofile import read_video

    out = tmp_path / "clip.mp4"
    result = emogen("--prompt", PROMPT, "--emotion", "joy@0 -> sadness@0.75", "--frames", "4", "--fps", "4",
                    "--steps", "2", "--noise-correlation", "0.8", "--emotion-scale", "0.5", "--model", str(tiny_model),
                    "--out", str(out), "--gif")
    assert result.returncode == 0, result.stderr
    frames, fps = read_video(out)
    assert frames.shape == (4, 32, 32, 3) and fps == pytest.approx(4.0)
    assert (tmp_path / "clip.gif").is_file()
    sidecar = json.loads((tmp_path / "clip.json").read_text())
    assert [row["time"] for row in sidecar["per_frame"]] == [0.0, 0.25, 0.5, 0.75]
    assert sidecar["per_frame"][0]["target"]["categories"]["joy"] == pytest.approx(1.0)
    assert sidecar["per_frame"][-1]["target"]["categories"]["sadness"] == pytest.approx(1.0)
    assert all(row["scores"]["scorer"] == "emofaces" for row in sidecar["per_frame"])
    assert {"ccc_valence", "ccc_arousal", "end_state_correct", "identity_consistency"} <= set(sidecar["summary"])
    assert sidecar["steps"] == 2 and sidecar["image"] is None and "arc CCC valence" in result.stdout
    assert sidecar["noise_correlation"] == 0.8 and sidecar["emotion_scale"] == 0.5


@pytest.mark.slow
def test_image_to_video_at_strength_zero_keeps_the_still(tmp_path, tiny_model):
    from emogen.videofile import read_video

    # The model's emogen_sampling.json recommends how much noise the frames share.
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / "emogen_sampling.json").write_text(json.dumps({"num_inference_steps": 2, "noise_correlation": 0.7,
                                                                   "emotion_scale": 1.5}))
    still = tmp_path / "still.png"
    Image.fromarray(np.full((32, 32, 3), (200, 120, 40), np.uint8)).save(still)
    out = tmp_path / "animated.mp4"
    result = emogen("--prompt", PROMPT, "--emotion", "anger", "--image", str(still), "--strength", "0",
                    "--frames", "3", "--fps", "6", "--model", str(model), "--out", str(out))
    assert result.returncode == 0, result.stderr
    frames, _ = read_video(out)
    assert np.abs(frames.astype(int) - (200, 120, 40)).max() <= 3  # H.264 rounding only
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["image"] == str(still) and sidecar["summary"]["identity_to_still"] > 0.9
    assert sidecar["steps"] == 2 and sidecar["noise_correlation"] == 0.7 and sidecar["emotion_scale"] == 1.5


@pytest.mark.parametrize("args, message", [
    (["--emotion", "joy@0 -> sadness@5", "--frames", "8", "--fps", "8"], "--emotion: the emotion arc lasts 5s"),
    (["--frames", "0"], "--frames: frames must be an integer from 1 to"),
    (["--fps", "0"], "--fps: fps must be from 1 to 120"),
    (["--fps", "1000"], "--fps: fps must be from 1 to 120"),
    (["--image", "UNREADABLE"], "--image: .* is not a readable image"),
    (["--image", "MISSING"], "--image: .* is not a file"),
    (["--emotion", "glee"], "--emotion:"),
    (["--strength", "2", "--image", "UNREADABLE"], "--strength must be in"),
    (["--anchor-first-frame"], "--anchor-first-frame needs --image"),
    (["--noise-correlation", "1.5"], "--noise-correlation must be in \\[0, 1\\], got 1.5"),
    (["--emotion-scale", "-1"], "--emotion-scale must be a number >= 0, got -1"),
    (["--emotion-scale", "nan"], "--emotion-scale must be a number >= 0, got nan"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    unreadable = tmp_path / "still.png"
    unreadable.write_text("not an image")
    args = [str(unreadable) if a == "UNREADABLE" else str(tmp_path / "missing.png") if a == "MISSING" else a
            for a in args]
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"an earlier clip")
    base = {"--prompt": PROMPT, "--emotion": "joy", "--out": str(out)}
    flags = [item for key, value in base.items() if key not in args for item in (key, value)]
    result = emogen(*flags, *args, timeout=120)
    assert result.returncode == 2, result.stderr
    assert __import__("re").search(message, result.stderr), result.stderr
    assert out.read_bytes() == b"an earlier clip"  # an existing file stays intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "still.png"]


def test_an_output_that_is_not_mp4_is_refused(tmp_path):
    result = emogen("--prompt", PROMPT, "--emotion", "joy", "--out", str(tmp_path / "clip.avi"))
    assert result.returncode == 2 and "--out must be an .mp4 file" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_emotion_scale_zero_takes_the_emotion_away_and_one_keeps_it(tiny_model):
    """generate_video passes emotion_scale to the pipeline: at 0 two emotions give the same clip."""
    from emogen.video.generate import generate_video

    def clip(emotion, scale):
        return generate_video(PROMPT, emotion, frames=3, fps=4, steps=2, emotion_scale=scale, model=tiny_model,
                              scorer=None).frames

    assert np.array_equal(clip("joy", 0.0), clip("anger", 0.0))
    assert not np.array_equal(clip("joy", 1.0), clip("anger", 1.0))


def test_a_negative_emotion_scale_is_refused_before_loading(tmp_path):
    from emogen.errors import EmotionError
    from emogen.video.generate import generate_video

    with pytest.raises(EmotionError, match="emotion_scale must be a number >= 0, got -0.5"):
        generate_video(PROMPT, "joy", frames=3, fps=4, emotion_scale=-0.5, model=tmp_path / "no-model-here")
