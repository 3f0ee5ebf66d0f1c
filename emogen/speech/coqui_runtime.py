"""Importing Coqui TTS (the ``coqui-tts`` package, ``import TTS``) on CPU-only torch builds.

Only the model code is used (``TTS.tts.models``, ``TTS.tts.configs``), never ``TTS.api``, which would
download models. ``import TTS`` insists that torchaudio and (for torch >= 2.9) torchcodec are
installed, and the VITS and XTTS modules ``import torchaudio`` at the top. Of torchaudio they use only
pure-Python parts (``transforms.Resample``, ``transforms.MelSpectrogram``, ``functional.resample``;
``torchaudio.load`` only inside Coqui's own data loaders, which emogen does not use).

The registry's torchaudio wheels are built against CUDA torch of their own release: on a CPU-only torch
(or another release) loading their compiled extension fails (``libc10_cuda.so: cannot open shared object
file``) and with it ``import torchaudio``. torchaudio itself supports running without its extension
(it then reports ``_IS_TORCHAUDIO_EXT_AVAILABLE = False``, as for a build without one), so when, and only
when, loading the extension fails, we import torchaudio again with its ``_extension`` module replaced
by that extension-less state. Nothing on disk is changed; where the extension loads, it is used.
"""
from __future__ import annotations

import importlib
import sys
import types

INSTALL = (
    "pip install 'emogen[coqui]' (coqui-tts 0.28.0, torchaudio, torchcodec, six; "
    "Debian ffmpeg for torchcodec)"
)
_state: dict[str, str] = {}


def _extensionless_torchaudio() -> types.ModuleType:
    """torchaudio imported with its compiled extension reported absent (see the module doc)."""
    for name in [n for n in sys.modules if n == "torchaudio" or n.startswith("torchaudio.")]:
        del sys.modules[name]
    extension = types.ModuleType("torchaudio._extension")
    extension._IS_TORCHAUDIO_EXT_AVAILABLE = False
    extension._IS_ALIGN_AVAILABLE = False
    extension._load_lib = lambda lib: False  # what torchaudio returns when the library file is absent

    def fail_if_no_align(function):
        def unavailable(*args, **kwargs):
            raise RuntimeError(f"torchaudio.{function.__name__} needs torchaudio's compiled extension, "
                               "which does not load with this torch build")
        return unavailable

    extension.fail_if_no_align = fail_if_no_align
    sys.modules["torchaudio._extension"] = extension
    return importlib.import_module("torchaudio")


def import_coqui() -> types.ModuleType:
    """The ``TTS`` package, ready for ``TTS.tts.models``; ImportError (naming what is missing) if it is not installed."""
    if "TTS" in sys.modules and _state.get("torchaudio"):
        return sys.modules["TTS"]
    import torch  # noqa: F401  (torchaudio's import needs it loaded first)

    try:
        import torchaudio  # noqa: F401
        _state["torchaudio"] = "with its extension"
    except OSError as err:  # the compiled extension does not match this torch build
        _extensionless_torchaudio()
        _state["torchaudio"] = f"without its compiled extension ({str(err)[:120]})"
    import TTS  # raises ImportError naming torchaudio/torchcodec/coqui-tts when one is missing

    return TTS


def torchaudio_mode() -> str:
    """How torchaudio was loaded (recorded in training metadata), after ``import_coqui``."""
    return _state.get("torchaudio", "not loaded")
