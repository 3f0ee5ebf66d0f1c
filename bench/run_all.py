"""`make bench`: run every bench/bench_*.py in its own process, then render BENCHMARKS.md.

Each benchmark runs in a fresh process so that its peak-memory figure is its own.
Usage: python bench/run_all.py [NAME ...]   (names filter the scripts, e.g. 'emotion')
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emogen.benchmark import RESULTS_DIR, render_markdown  # noqa: E402


def main(argv: list[str]) -> int:
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    if not scripts:
        print(f"no benchmark matches {argv}", file=sys.stderr)
        return 2
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=ROOT).returncode != 0:
            failed.append(script.name)
    (ROOT / "BENCHMARKS.md").write_text(render_markdown(RESULTS_DIR))
    print(f"wrote BENCHMARKS.md from {len(list(RESULTS_DIR.glob('*.json')))} records")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
