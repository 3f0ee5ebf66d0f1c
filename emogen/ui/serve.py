"""Serving the UI from code: `emogen ui` in a child process, waited for until it answers (tests, bench)."""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Block until Streamlit's health endpoint answers; fail with the server's own output if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emogen ui exited with {process.returncode}: {process.stderr.read().decode()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"emogen ui did not answer at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def serving(port: int, out: Path, timeout: float = 120.0) -> Iterator[str]:
    """`emogen ui --port PORT --out OUT` running for the block; yields its URL and stops it afterwards."""
    process = subprocess.Popen([sys.executable, "-m", "emogen.cli", "ui", "--port", str(port), "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
