"""`emogen batch`: job files, sweeps, bad input named by line and field, real tiny runs, resuming after crashes."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emogen.audio import read_wav
from emogen.batch import JobFileError, load_jobs, run_batch
from emogen.batch.killtest import audit
from emogen.batch.manifest import MANIFEST, read_manifest
from emogen.cli import main
from emogen.emotion import Emotion
from emogen.errors import EmotionError

MUSIC_SWEEP = """
defaults:
  music: {seconds: 2.5}
jobs:
  - id: moods
    modality: music
    sweep:
      emotion: [joy, sadness]
      seed: [0, 1, 2]
  - modality: speech
    text: "Hello there. It is a lovely day!"
    emotion: joy
  - modality: speech
    text: "Well, hello."
    emotion: "anger@0 -> sadness@1"
    output: "voices/{id}.wav"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def jsonl(folder: Path, *jobs: dict) -> Path:
    return write(folder, "jobs.jsonl", "".join(json.dumps(job) + "\n" for job in jobs))


def music(**fields) -> dict:
    return {"modality": "music", "emotion": "joy", "seconds": 2.5, **fields}


def manifest_lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


# ----- job files and sweeps ---------------------------------------------------------------------------


def test_sweep_expands_in_written_order_with_stable_ids(tmp_path):
    jobs = load_jobs(write(tmp_path, "jobs.yaml", MUSIC_SWEEP), tmp_path / "out")
    assert [j.id for j in jobs[:6]] == [f"moods-{i}" for i in range(6)]
    assert [(j.params.emotion, j.params.seed) for j in jobs[:6]] == [
        ("joy", 0), ("joy", 1), ("joy", 2), ("sadness", 0), ("sadness", 1), ("sadness", 2)]
    assert all(j.params.seconds == 2.5 for j in jobs[:6])  # from defaults
    assert [j.index for j in jobs] == list(range(8))
    assert jobs[6].id.startswith("speech-") and jobs[6].output == f"speech/{jobs[6].id}.wav"
    assert jobs[7].output == f"voices/{jobs[7].id}.wav"
    # Unnamed jobs are named by their fields: reordering the file keeps their ids.
    reordered = MUSIC_SWEEP.split("  - modality: speech")
    swapped = reordered[0] + "  - modality: speech" + reordered[2] + "  - modality: speech" + reordered[1]
    again = load_jobs(write(tmp_path, "swapped.yaml", swapped), tmp_path / "out")
    assert {j.id for j in again} == {j.id for j in jobs} and again[6].id == jobs[7].id


def test_emotion_grid_sweep_and_output_placeholders(tmp_path):
    path = jsonl(tmp_path, {"modality": "music", "seconds": 2, "id": "grid", "sweep": {"emotion": {"grid": 2}},
                            "output": "g/{id}-s{seed}-{index}.wav"})
    jobs = load_jobs(path, tmp_path / "out")
    assert [j.params.emotion for j in jobs] == ["v=-0.70,a=0.70", "v=0.70,a=0.70", "v=-0.70,a=-0.70", "v=0.70,a=-0.70"]
    assert [j.output for j in jobs] == [f"g/grid-{i}-s0-{i}.wav" for i in range(4)]


# ----- bad input: named by line and field, before anything is run or written ------------------------


BAD_YAML = [
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: -3\n", ["line 4", "'seconds'", "(0, 600]"]),
    ("jobs:\n  - modality: hologram\n    emotion: joy\n", ["line 2", "'modality'", "'hologram'", "image, speech, music, video, talk"]),
    ("jobs:\n  - modality: speech\n    text: hi\n    emotion: joyy\n", ["line 4", "'emotion'", "'joyy'"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    colour: red\n",
     ["line 5", "unknown field 'colour'", "accepted:", "best_of"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    seed: zero\n", ["line 5", "'seed'", "integer", "'zero'"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    seed: true\n", ["line 5", "'seed'", "integer", "True"]),
    ("jobs:\n  - modality: speech\n    emotion: joy\n", ["line 2", "'text'", "need"]),
    ("jobs:\n  - modality: speech\n    text: hi\n    emotion: joy\n    best_of: 3\n", ["line 5", "'best_of'", "unknown field"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    output: ../escape.wav\n",
     ["line 5", "'output'", "escapes the output folder"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    output: /tmp/abs.wav\n",
     ["line 5", "'output'", "escapes the output folder"]),
    ("jobs:\n  - modality: image\n    prompt: a face\n    emotion: joy\n    output: x.wav\n", ["line 5", "'output'", ".png"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    output: manifest.jsonl\n", ["line 5", "'output'"]),
    ("jobs:\n  - id: a\n    modality: music\n    emotion: joy\n    seconds: 2\n"
     "  - id: a\n    modality: music\n    emotion: sadness\n    seconds: 2\n", ["duplicate job id 'a'", "line 2", "line 6"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    sweep: {seed: [0, 1]}\n    output: same.wav\n",
     ["both write 'same.wav'", "{id}"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    sweep: {seconds: []}\n", ["line 5", "'sweep'", "non-empty list"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    seconds: 2\n    sweep: {emotion: [joy]}\n", ["'sweep'", "both fixed and swept"]),
    ("jobs:\n  - modality: music\n    seconds: 2\n    sweep: {tempo: [1]}\n", ["line 4", "cannot sweep 'tempo'", "accepted"]),
    ("jobs:\n  - modality: music\n    emotion: joy\n    emotion: sadness\n", ["line 4", "'emotion' is given twice", "line 3"]),
    ("jobs:\n  - modality: music\n    emotion: joy@0 -> sadness@3\n    seconds: 4\n    best_of: 2\n", ["line 5", "'best_of'", "arc"]),
    ("jobs:\n  - modality: music\n    emotion: [joy\n", ["line 4", "not valid YAML"]),
    ("defaults:\n  music: {seconds: 0}\njobs:\n  - modality: music\n    emotion: joy\n", ["line 2", "'seconds'"]),
    ("defaults:\n  film: {seconds: 2}\njobs: []\n", ["line 2", "'film'"]),
]


@pytest.mark.parametrize("text, expected", BAD_YAML)
def test_bad_yaml_is_refused_naming_line_and_field(tmp_path, text, expected):
    with pytest.raises(JobFileError) as caught:
        load_jobs(write(tmp_path, "jobs.yaml", text), tmp_path / "out")
    message = str(caught.value)
    assert "jobs.yaml" in message
    for part in expected:
        assert part in message


def test_bad_jsonl_is_refused_naming_line_and_field(tmp_path):
    good = json.dumps(music())
    path = write(tmp_path, "jobs.jsonl", f"{good}\n\n{json.dumps(music(seed=-1))}\n")
    with pytest.raises(JobFileError, match=r"jobs.jsonl line 3, music job, field 'seed': must be >= 0, got -1"):
        load_jobs(path, tmp_path / "out")
    write(tmp_path, "jobs.jsonl", f"{good}\n{good[:-3]}\n")
    with pytest.raises(JobFileError, match=r"jobs.jsonl line 2: not valid JSON"):
        load_jobs(tmp_path / "jobs.jsonl", tmp_path / "out")
    write(tmp_path, "jobs.jsonl", '{"modality": "music", "modality": "image"}\n')
    with pytest.raises(JobFileError, match=r"line 1: field 'modality' is given twice"):
        load_jobs(tmp_path / "jobs.jsonl", tmp_path / "out")
    with pytest.raises(JobFileError, match=r"\.yaml, \.yml or \.jsonl"):
        load_jobs(write(tmp_path, "jobs.txt", good), tmp_path / "out")


def test_output_leaving_through_a_symlink_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "elsewhere").symlink_to(tmp_path)
    with pytest.raises(JobFileError, match=r"'elsewhere/x.wav' leaves the output folder"):
        load_jobs(jsonl(tmp_path, music(output="elsewhere/x.wav")), out)


def test_cli_refuses_bad_files_with_exit_2_before_writing_anything(tmp_path, capsys):
    path = jsonl(tmp_path, music(), {"modality": "hologram", "emotion": "joy"})
    out = tmp_path / "out"
    assert main(["batch", str(path), "--out", str(out)]) == 2
    assert "jobs.jsonl line 2, field 'modality': unknown modality 'hologram'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["batch", str(tmp_path / "missing.yaml"), "--out", str(out)]) == 2
    assert main(["batch", str(jsonl(tmp_path, music())), "--out", str(out), "--dry-run"]) == 0
    assert "1 jobs, all valid" in capsys.readouterr().err and not out.exists()


# ----- real runs ------------------------------------------------------------------------------------


def test_music_and_speech_batch_writes_outputs_manifest_and_report_then_resumes(tmp_path):
    job_file, out = write(tmp_path, "jobs.yaml", MUSIC_SWEEP), tmp_path / "out"
    result = run_batch(job_file, out, progress=False)
    assert (result.jobs, result.ran, result.skipped) == (8, 8, 0)
    lines = manifest_lines(out)
    jobs = load_jobs(job_file, out)
    assert sorted(line["id"] for line in lines) == sorted(job.id for job in jobs)
    for line, job in zip(sorted(lines, key=lambda r: r["index"]), jobs):
        audio, rate = read_wav(out / job.output)
        assert line["params"] == job.params_dict() and rate == 22050 and audio.size > 22050
        assert line["seconds"]["model"] > 0 and line["seconds"]["job"] >= line["seconds"]["model"]
    by_id = {line["id"]: line for line in lines}
    joy = by_id["moods-0"]["evaluation"]
    assert joy["requested_label"] == "+valence +arousal" and joy["requested_va"] == [
        pytest.approx(Emotion.parse("joy").valence), pytest.approx(Emotion.parse("joy").arousal)]
    assert set(by_id[jobs[6].id]["scores"]) >= {"top1", "probs", "cues", "adherence"}
    assert by_id[jobs[7].id]["evaluation"] is None  # an arc has no single target
    summary = (out / "summary.md").read_text()
    music_hits = np.mean([by_id[f"moods-{i}"]["evaluation"]["hit"] for i in range(6)])
    assert f"| music | 6 | 6 | {music_hits:.3f} |" in summary
    assert all((out / name).stat().st_size > 1000 for name in ("summary_accuracy.png", "summary_va_music.png"))

    before = (out / MANIFEST).read_bytes()
    again = run_batch(job_file, out, progress=False, report=False)
    assert (again.ran, again.skipped) == (0, 8) and (out / MANIFEST).read_bytes() == before


def test_every_crash_window_resumes_with_no_job_lost_or_recorded_twice(tmp_path):
    jobs_path, out = jsonl(tmp_path, *[music(id=f"m{i}", seed=i) for i in range(4)]), tmp_path / "out"
    run_batch(jobs_path, out, progress=False, report=False)
    lines = (out / MANIFEST).read_text().splitlines()
    # Killed after m1's file was renamed into place, before its line; during m2's write (a temporary
    # left); during a power cut halfway through m3's line (a torn tail).
    kept = [line for line in lines if json.loads(line)["id"] not in ("m1", "m2", "m3")]
    m3_line = next(line for line in lines if json.loads(line)["id"] == "m3")
    (out / MANIFEST).write_text("\n".join(kept) + "\n" + m3_line[: len(m3_line) // 2])
    (out / "music/m2.wav").rename(out / "music/.m2.abcd1234.wav")
    stale_m1 = (out / "music/m1.wav").stat().st_mtime_ns
    assert set(read_manifest(out)) == {"m0"}

    result = run_batch(jobs_path, out, progress=False, report=False)
    assert result.ran == 3
    assert audit(load_jobs(jobs_path, out), out).__dict__ == {"lost": [], "duplicated": [], "stray": []}
    assert (out / "music/m1.wav").stat().st_mtime_ns >= stale_m1  # redone, replaced in one rename
    text = (out / MANIFEST).read_text()
    assert json.loads(text.splitlines()[-1])["id"] in ("m1", "m2", "m3")  # appended on a fresh line

    # A file deleted after its job finished: redone, and its newest line is the one that counts.
    (out / "music/m0.wav").unlink()
    assert run_batch(jobs_path, out, progress=False, report=False).ran == 1
    assert read_manifest(out)["m0"]["output"] == "music/m0.wav" and (out / "music/m0.wav").is_file()


def test_resuming_with_changed_settings_is_refused_before_running(tmp_path):
    out = tmp_path / "out"
    run_batch(jsonl(tmp_path, music(id="theme")), out, progress=False, report=False)
    with pytest.raises(JobFileError, match=r"job 'theme' \(jobs.jsonl line 1\) differs from its finished run in seconds"):
        run_batch(jsonl(tmp_path, music(id="theme", seconds=3)), out, progress=False)
    assert len(manifest_lines(out)) == 1


def test_music_best_of_keeps_the_candidate_nearest_the_target(tmp_path):
    out = tmp_path / "out"
    run_batch(jsonl(tmp_path, music(id="calm", emotion="v=0.6,a=-0.6", seed=5, best_of=3)), out,
              progress=False, report=False)
    details = manifest_lines(out)[0]["details"]
    distances = details["best_of"]["distances"]
    assert details["best_of"]["seeds"] == [5, 6, 7] and details["seed"] == 5 + int(np.argmin(distances))


def test_image_jobs_run_with_a_tiny_model(tmp_path, capsys):
    from emogen.image import EmotionDiffusionPipeline
    from emogen.image.tiny import tiny_components

    model = tmp_path / "model"
    EmotionDiffusionPipeline(**tiny_components("residual", 32, pixel_space=True)).save_pretrained(model)
    job_file = write(tmp_path, "jobs.yaml", f"""
jobs:
  - id: faces
    modality: image
    prompt: a close-up portrait of a person
    model: {model}
    steps: 2
    best_of: 2
    sweep:
      emotion: [joy, "v=-0.5,a=0.5"]
""")
    out = tmp_path / "out"
    assert main(["batch", str(job_file), "--out", str(out), "--no-progress"]) == 0
    lines = {line["id"]: line for line in manifest_lines(out)}
    assert set(lines) == {"faces-0", "faces-1"}
    with Image.open(out / "image/faces-0.png") as image:
        assert image.size == (32, 32) and image.text["emotion"] == "joy"
        assert json.loads(image.text["scores"]) == lines["faces-0"]["scores"]
    evaluation = lines["faces-0"]["evaluation"]
    assert evaluation["requested_label"] == "joy" and evaluation["measured_label"] == lines["faces-0"]["scores"]["top1"]
    assert lines["faces-0"]["details"]["best_of"]["seeds"] == [0, 1]
    assert "| image | 2 | 2 |" in (out / "summary.md").read_text()
    assert os.path.getsize(out / "summary_va_image.png") > 1000


def test_a_model_that_does_not_load_is_named_before_any_job_runs(tmp_path):
    job_file = jsonl(tmp_path, music(id="first"), {"id": "face", "modality": "image", "prompt": "a face",
                                                   "emotion": "joy", "model": str(tmp_path / "no-such-model")})
    with pytest.raises(EmotionError, match=r"job 'face' \(jobs.jsonl line 2\) cannot start; nothing was run"):
        run_batch(job_file, tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / MANIFEST).exists()
