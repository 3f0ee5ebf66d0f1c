import json
import subprocess
import sys

import pytest

pytest.importorskip("mediapipe")
from PIL import Image  # noqa: E402
from skimage.data import astronaut  # noqa: E402


def emogen(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "astronaut.png"
    Image.fromarray(astronaut()).save(path)
    return path


def test_score_files_json_with_target_and_a_bad_file(portrait, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    result = emogen("score", str(portrait), str(bad), "--scorer", "fer2013", "--target", "happy", "--json")
    assert result.returncode == 2  # one file could not be scored...
    row = json.loads(result.stdout.strip())  # ...but the good one was
    assert row["top1"] == "joy" and row["correct"] is True and row["scorer"] == "fer2013"
    assert row["valence"] > 0.3 and set(row) >= {"probs", "arousal", "scorer_accuracy"}
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["file"] == str(bad) and "not a readable image" in error["error"]


def test_score_dir_report(portrait, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    rows = []
    for name, category in [("a.png", "joy"), ("b.png", "joy"), ("c.png", "sadness")]:
        Image.open(portrait).save(folder / name)
        rows.append({"file_name": name, "category": category})
    (folder / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = tmp_path / "out" / "report.md"
    result = emogen("score", "--dir", str(folder), "--scorer", "fer2013", "--report", str(report))
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    assert "| top-1 control accuracy | 0.667 |" in text  # the smiling portrait labelled sadness is wrong
    for png in ("report_confusion.png", "report_va.png"):
        assert (report.parent / png).stat().st_size > 1000
        assert Image.open(report.parent / png).size[0] > 100


@pytest.mark.parametrize("args, fragment", [
    (["score"], "give image files"),
    (["score", "x.png", "--report", "r.md"], "--report needs --dir"),
    (["score", "x.png", "--target", "hapy"], "did you mean"),
])
def test_score_usage_errors(args, fragment):
    result = emogen(*args)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr
