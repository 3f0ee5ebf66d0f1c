"""`emogen batch` across processes: SIGKILLed at random points and resumed; sharded over 2 accelerate processes."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emogen.batch import load_jobs
from emogen.batch.killtest import kill_and_resume
from emogen.batch.manifest import MANIFEST


def music_jobs(folder: Path, n: int) -> Path:
    emotions = ["joy", "sadness", "anger", "v=0.5,a=-0.5"]
    path = folder / "jobs.jsonl"
    path.write_text("".join(json.dumps({"id": f"m{i:02d}", "modality": "music", "emotion": emotions[i % 4],
                                        "seconds": 2, "seed": i}) + "\n" for i in range(n)))
    return path


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_loses_and_duplicates_nothing(tmp_path):
    report = kill_and_resume(music_jobs(tmp_path, 16), tmp_path / "out", kills=4, seed=7, job_seconds=0.06)
    assert report.kills >= 3  # the process was really killed, mid-batch
    assert report.lines_at_kill[0] < 16
    assert report.audit.lost == [] and report.audit.duplicated == [] and report.audit.stray == []
    assert (tmp_path / "out" / MANIFEST).read_text().count("\n") == 16



@pytest.mark.slow
def test_two_accelerate_processes_share_the_jobs_each_done_once(tmp_path, free_port):
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    if accelerate is None:
        pytest.skip("accelerate is not installed in this environment")
    job_file, out = music_jobs(tmp_path, 7), tmp_path / "out"
    command = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port),
               "-m", "emogen.batch", str(job_file), "--out", str(out), "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    jobs = load_jobs(job_file, out)
    assert sorted(line["id"] for line in lines) == [job.id for job in jobs]  # each job once
    assert all(line["rank"] == line["index"] % 2 for line in lines) and {line["rank"] for line in lines} == {0, 1}
    assert "rank 0/2: ran 4" in result.stderr and "rank 1/2: ran 3" in result.stderr
    assert "| music | 7 | 7 |" in (out / "summary.md").read_text()  # rank 0 reports after both finished
