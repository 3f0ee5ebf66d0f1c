"""Video and talking-head jobs in `emogen batch`: checked before any work, run, scored, resumable."""
from __future__ import annotations

import json

import pytest

from emogen.batch import JobFileError, load_jobs, run_batch
from emogen.batch.manifest import read_manifest

PROMPT = "a cartoon portrait of a person with short black hair"


def write(tmp_path, text: str):
    path = tmp_path / "jobs.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("entry, expected", [
    ("{modality: video, prompt: x, emotion: 'joy@0 -> sadness@3', frames: 8, fps: 8}",
     r"video job, field 'emotion': the emotion arc lasts 3s but 8 frames at 8 fps end at 0.875s"),
    ("{modality: video, prompt: x, emotion: joy, frames: 0}", r"field 'frames': frames must be an integer from 1"),
    ("{modality: video, prompt: x, emotion: joy, fps: 500}", r"field 'fps': fps must be from 1 to 120, got 500"),
    ("{modality: video, prompt: ' ', emotion: joy}", r"field 'prompt': is empty"),
    ("{modality: video, prompt: x, emotion: joy, noise_correlation: 2}",
     r"field 'noise_correlation': noise_correlation must be a number in \[0, 1\]"),
    ("{modality: video, prompt: x, emotion: joy, emotion_scale: -1}", r"field 'emotion_scale': must be >= 0, got -1"),
    ("{modality: talk, text: hello, emotion: joy, size: 4096}", r"talk job, field 'size': must be from 64 to 512 px"),
    ("{modality: talk, text: '', emotion: joy}", r"talk job, field 'text'"),
    ("{modality: talk, text: hi, emotion: joy, engine: festival}", r"field 'engine': unknown speech engine 'festival'"),
])
def test_bad_video_and_talk_jobs_are_refused_before_any_work(tmp_path, entry, expected):
    with pytest.raises(JobFileError, match=expected):
        load_jobs(write(tmp_path, f"- {entry}\n"), tmp_path / "out")


@pytest.mark.slow
def test_talk_and_video_jobs_run_score_and_resume(tmp_path):
    jobs = write(tmp_path, f"""
- {{id: talker, modality: talk, text: "Hello there.", emotion: joy, size: 128}}
- {{id: clip, modality: video, prompt: {PROMPT}, emotion: "joy@0 -> sadness@0.25", frames: 3, fps: 8, steps: 2}}
""")
    out = tmp_path / "out"
    result = run_batch(jobs, out, progress=False)
    assert result.ran == 2
    records = read_manifest(out)
    talk, clip = records["talker"], records["clip"]
    assert (out / "talk" / "talker.mp4").stat().st_size > 1000
    assert json.loads((out / "talk" / "talker.json").read_text())["n_frames"] > 10  # the sidecar, beside it
    assert talk["scores"]["lip_sync"] and talk["evaluation"]["requested_label"] == "joy"
    assert (out / "video" / "clip.mp4").stat().st_size > 500
    assert set(clip["scores"]) >= {"ccc_valence", "ccc_arousal", "end_state_correct"}
    assert clip["evaluation"]["requested_label"] == clip["scores"]["end_state_target"]
    # The shipped model's recommended sampling (its emogen_sampling.json) is what the job ran with.
    assert clip["details"]["settings"]["noise_correlation"] == 0.997
    again = run_batch(jobs, out, progress=False)  # nothing left to do: nothing done twice
    assert again.ran == 0 and len(read_manifest(out)) == 2
