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
