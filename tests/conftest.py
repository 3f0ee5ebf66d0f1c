import os

import numpy as np
import pytest

# Keep tests reproducible and light on the 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's portrait of Eileen Collins, smiling: a real photo that must score as joy."""
    skimage_data = pytest.importorskip("skimage.data")
    return skimage_data.astronaut()
