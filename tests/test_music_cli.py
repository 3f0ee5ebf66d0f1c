import json
import os
import shutil
import subprocess
import sys
import wave

import pytest


def emogen(*args, env=None):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_music_arc_writes_wav_midi_and_sidecar(tmp_path):
    pytest.importorskip("mido")
    out, midi = tmp_path / "score" / "m.wav", tmp_path / "score" / "m.mid"
    result = emogen("music", "--emotion", "sadness@0 -> joy@8", "--seconds", "10", "--out", str(out),
                    "--midi", str(midi), "--seed", "2", "--sample-rate", "16000")
    assert result.returncode == 0, result.stderr
    assert "arc CCC valence" in result.stdout
    with wave.open(str(out)) as handle:
        assert (handle.getframerate(), handle.getnchannels(), handle.getnframes()) == (16000, 1, 160000)
    assert midi.read_bytes()[:4] == b"MThd"
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["seed"] == 2 and sidecar["synthesiser"] == "builtin" and sidecar["real_time_factor"] > 0
    segments = sidecar["plan"]["segments"]
    assert segments[0]["mode"] == "minor" and segments[-1]["mode"] == "major"
    assert segments[0]["tempo_bpm"] < segments[-1]["tempo_bpm"] and segments[0]["key"].endswith("minor")
    scores = sidecar["scores"]
    assert set(scores["overall"]) >= {"valence", "arousal", "tempo_bpm", "key", "loudness_dbfs", "centroid_hz"}
    assert len(scores["arc"]["windows"]) == 7 and -1 <= scores["arc"]["ccc_valence"] <= 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.json", "m.mid", "m.wav"]  # no temporary files left


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth not installed")
def test_music_with_a_soundfont_and_without_fluidsynth(tmp_path):
    from emogen.music.synth import SOUNDFONT_PATHS

    font = next((p for p in SOUNDFONT_PATHS if p.is_file()), None)
    if font is None:
        pytest.skip("no General MIDI soundfont installed")
    out = tmp_path / "f.wav"
    result = emogen("music", "--emotion", "joy", "--seconds", "3", "--out", str(out), "--soundfont", str(font))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.with_suffix(".json").read_text())["synthesiser"] == f"fluidsynth:{font}"
    # The same command on a machine without the fluidsynth program: exit 2, nothing written.
    result = emogen("music", "--emotion", "joy", "--seconds", "3", "--out", str(tmp_path / "g.wav"),
                    "--soundfont", str(font), env={**os.environ, "PATH": ""})
    assert result.returncode == 2 and "fluidsynth program is not installed" in result.stderr
    assert not (tmp_path / "g.wav").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--seconds", "0"], "--seconds must be in (0, 600], got 0"),
    (["--seconds", "-3"], "--seconds must be in (0, 600], got -3"),
    (["--seconds", "100000"], "--seconds must be in (0, 600], got 100000"),
    (["--seconds", "inf"], "--seconds must be in (0, 600], got inf"),
    (["--seconds", "3", "--soundfont", "missing.sf2"], "soundfont missing.sf2 does not exist"),
    (["--seconds", "3", "--backend", "musicgen"], "--backend musicgen needs --model DIR"),
    (["--seconds", "3", "--backend", "musicgen", "--model", "nowhere"], "nowhere has no config.json"),
    (["--seconds", "3", "--backend", "musicgen", "--model", "x", "--midi", "m.mid"],
     "--midi works with --backend composer"),
    (["--seconds", "3", "--sample-rate", "1000"], "--sample-rate must be in [8000, 48000] Hz, got 1000"),
    (["--seconds", "3", "--seed", "-4"], "--seed must be an integer >= 0, got -4"),
    (["--seconds", "3", "--emotion", "hapy"], "did you mean"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, args, fragment):
    out = tmp_path / "bad.wav"
    emotion = [] if "--emotion" in args else ["--emotion", "joy"]
    env = {k: v for k, v in os.environ.items() if k != "EMOGEN_MUSIC_MODEL"}
    result = emogen("music", *emotion, *args, "--out", str(out), env=env)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_wrong_output_suffix(tmp_path):
    result = emogen("music", "--emotion", "joy", "--seconds", "2", "--out", str(tmp_path / "m.mp3"))
    assert result.returncode == 2 and "--out must be a .wav file" in result.stderr
