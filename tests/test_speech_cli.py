"""`emogen speak`: files written together, edited plans rendered, bad input refused with exit 2 and no files."""
import json
import subprocess
import sys
import wave

import pytest


def emogen(*args):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=120)


def test_speak_writes_wav_and_sidecar_then_renders_an_edited_plan(tmp_path):
    out = tmp_path / "hello.wav"
    result = emogen("speak", "Hello there. It is a lovely day!", "--emotion", "joy@0 -> sadness@2", "--out", str(out),
                    "--plan-out", str(tmp_path / "plan.json"))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as handle:
        assert handle.getframerate() == 22050 and handle.getnframes() > 22050
    sidecar = json.loads((tmp_path / "hello.json").read_text())
    assert [w["label"] for w in sidecar["words"]] == ["Hello", "there.", "It", "is", "a", "lovely", "day!"]
    assert sidecar["plan"]["emotion"]["keyframes"][1]["emotion"]["top"] == "sadness"
    assert set(sidecar["scores"]) >= {"top1", "probs", "valence", "arousal", "cues"}
    assert sidecar["adherence"]["mean_f0_error_semitones"] <= 1.0 and sidecar["real_time_factor"] > 0
    assert sidecar["phonemes"] and json.loads((tmp_path / "plan.json").read_text()) == sidecar["plan"]

    plan = sidecar["plan"]
    plan["words"][5]["pitch_semitones"] = 7.0  # "lovely", raised
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(plan))
    again = emogen("speak", "--plan", str(edited), "--out", str(tmp_path / "edited.wav"))
    assert again.returncode == 0, again.stderr
    words = json.loads((tmp_path / "edited.json").read_text())["adherence"]["words"]
    assert words[5]["measured_f0_semitones"] == pytest.approx(words[5]["planned_f0_semitones"], abs=1.0)
    assert words[5]["measured_f0_semitones"] > 5.0


@pytest.mark.parametrize("args, fragment", [
    (["", "--emotion", "joy"], "text is empty"),
    (["bad\x07bell", "--emotion", "joy"], "control character U+0007"),
    (["hello", "--emotion", "hapy"], "did you mean"),
    (["hello", "--emotion", "joy", "--engine", "festival"], "unknown speech engine 'festival'; accepted: espeak"),
    (["hello", "--emotion", "joy", "--engine", "coqui"], "--engine coqui needs --model PATH"),
    (["hello", "--emotion", "joy", "--voice", "tlh"], "espeak-ng has no voice 'tlh'"),
    (["hello"], "give --emotion SPEC"),
    (["hello", "--emotion", "joy", "--plan", "PLAN"], "not both"),
    (["goodbye", "--plan", "PLAN"], "differs from the plan's text"),
    (["--plan", "missing.json"], "does not exist"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, fragment):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"text": "hello", "utterance": {}}))
    args = [str(plan) if a == "PLAN" else (str(tmp_path / a) if a == "missing.json" else a) for a in args]
    result = emogen("speak", *args, "--out", str(tmp_path / "x.wav"))
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]


def test_out_must_be_a_wav(tmp_path):
    result = emogen("speak", "hello", "--emotion", "joy", "--out", str(tmp_path / "x.mp3"))
    assert result.returncode == 2 and "--out must be a .wav file" in result.stderr
    assert not list(tmp_path.iterdir())
