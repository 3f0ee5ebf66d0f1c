import json
import subprocess
import sys

import pytest


def emogen(*args):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=120)


def test_describe_json_for_joy():
    result = emogen("emotion", "describe", "joy:0.8", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"valence", "arousal", "dominance", "intensity", "categories"}
    assert data["valence"] > 0 and data["intensity"] == 0.8
    assert max(data["categories"], key=data["categories"].get) == "joy"


def test_describe_negative_aroused_point():
    data = json.loads(emogen("emotion", "describe", "v=-0.7,a=0.7", "--json").stdout)
    top = max(data["categories"], key=data["categories"].get)
    assert top in {"anger", "fear"}


def test_describe_with_set_and_text_output():
    result = emogen("emotion", "describe", "0.6 joy + 0.4 surprise", "--set", "mikels8")
    assert result.returncode == 0 and "mikels8" in result.stdout


def test_arc_json_frames():
    result = emogen("emotion", "arc", "joy@0 -> sadness@3.5", "--fps", "5", "--json")
    assert result.returncode == 0, result.stderr
    frames = json.loads(result.stdout)["frames"]
    assert len(frames) == 18 and frames[0]["time"] == 0 and frames[-1]["time"] == pytest.approx(3.4)
    assert frames[0]["valence"] > 0 > frames[-1]["valence"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["emotion", "describe", "hapy"], "did you mean 'happy'"),
        (["emotion", "describe", "0.5 joy + 0.2 fear"], "sum to 1"),
        (["emotion", "describe", "joy", "--set", "nope"], "unknown category set"),
        (["emotion", "arc", "joy@3 -> fear@1"], "times must increase"),
        (["emotion", "arc", "joy", "--fps", "0"], "fps must be in"),
    ],
)
def test_bad_input_exits_2_without_traceback(args, fragment):
    result = emogen(*args)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
