import json

import pytest

from emogen.benchmark import Metric, render_markdown, run_benchmark


def test_metric_targets():
    assert Metric("x", 0.99, target=">= 0.98").met is True
    assert Metric("x", 0.97, target=">= 0.98").met is False
    assert Metric("x", 0.04, target="<= 0.05").met is True
    assert Metric("x", 3).met is None
    with pytest.raises(ValueError):
        Metric("x", 1, target="about 3").met


def test_record_written_and_rendered(tmp_path):
    run_benchmark("toy", "a toy benchmark", lambda: [Metric("speed", 12.5, "items/s", ">= 10")], results_dir=tmp_path)
    record = json.loads((tmp_path / "toy.json").read_text())
    assert record["metrics"][0]["met"] is True
    assert record["peak_memory_mb"] > 0 and record["commit"] and record["machine"]["cpu_count"] >= 1
    markdown = render_markdown(tmp_path)
    assert "## toy" in markdown and "| speed | 12.5 | items/s | >= 10 | yes |" in markdown
    assert not list(tmp_path.glob("*.tmp"))


def _image_bench():
    """bench/bench_image_generation.py as a module (bench/ is scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_image_generation.py"
    spec = importlib.util.spec_from_file_location("bench_image_generation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ablation_model(root, folder, steps, samples):
    (root / folder).mkdir(parents=True)
    (root / folder / "metrics.json").write_text(json.dumps({"config": {"max_train_steps": steps},
                                                            "train_samples": samples}))


def test_image_ablation_budget_read_and_unequal_budgets_refused(tmp_path):
    bench = _image_bench()
    assert bench.ablation_steps(tmp_path) is None  # no ablation models: only the shipped model is measured
    _ablation_model(tmp_path, "adapter", 2000, 64000)
    _ablation_model(tmp_path, "class-labels", 2000, 64000)
    assert bench.ablation_steps(tmp_path) == 2000
    _ablation_model(tmp_path, "prompt-word", 1000, 32000)
    with pytest.raises(SystemExit, match="different budgets") as err:
        bench.ablation_steps(tmp_path)
    assert "prompt-word" in str(err.value)


def test_image_ablation_rows_carried_over_and_marked(tmp_path):
    bench = _image_bench()
    assert bench.carried_ablation_rows(tmp_path / "missing.json") == []
    run_benchmark("image_generation", "toy", lambda: [
        Metric("shipped model: top-1", 0.9), Metric("2000 steps, baseline: x: top-1", 0.2, note="25 steps"),
        Metric("2000 steps: adapter minus x", 0.1, target="> 0.0")], results_dir=tmp_path)
    rows = bench.carried_ablation_rows(tmp_path / "image_generation.json")
    assert [row.name for row in rows] == ["2000 steps, baseline: x: top-1", "2000 steps: adapter minus x"]
    assert rows[0].value == 0.2 and rows[0].note.startswith("25 steps; carried over from the run of")
    assert rows[1].met is True
    # Carried once more, the note is not marked twice.
    run_benchmark("image_generation", "toy", lambda: rows, results_dir=tmp_path)
    again = bench.carried_ablation_rows(tmp_path / "image_generation.json")
    assert again[0].note.count("carried over") == 1
