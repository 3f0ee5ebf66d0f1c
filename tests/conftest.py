import os
import socket

import numpy as np
import pytest

# Keep tests reproducible and light on the 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_sessionfinish(session, exitstatus):
    """With EMOGEN_NO_SKIPS set (`make test-optional`), any skip fails the run: there the optional engines
    must be importable, so a skip would hide a broken install."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if os.environ.get("EMOGEN_NO_SKIPS") and reporter is not None and reporter.stats.get("skipped"):
        reporter.write_line(f"EMOGEN_NO_SKIPS: {len(reporter.stats['skipped'])} skipped; failing the run")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's portrait of Eileen Collins, smiling: a real photo that must score as joy."""
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()


@pytest.fixture(scope="session")
def two_astronauts(astronaut) -> tuple[np.ndarray, int]:
    """The portrait's head and shoulders twice, full size and at 0.6x, side by side on grey.

    Returns the canvas and the width of the big copy (the largest face lies left of it).
    Head and shoulders rather than the whole frame, so that both copies are detectable.
    """
    from PIL import Image

    face = astronaut[20:260, 110:340]
    height, width = face.shape[:2]
    small = np.asarray(Image.fromarray(face).resize((width * 3 // 5, height * 3 // 5)))
    canvas = np.full((height, width + 20 + small.shape[1], 3), 128, np.uint8)
    canvas[:, :width] = face
    canvas[:small.shape[0], width + 20:] = small
    return canvas, width


@pytest.fixture
def free_port() -> int:
    """A free TCP port on localhost for a process group's rendezvous (2-process Accelerate tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
