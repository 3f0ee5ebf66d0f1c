"""Talking head: speech + emotion -> ARKit-52 motion tracks -> rendered frames (avatar or photo) -> mp4.

Names are imported on first use, so that importing one part (e.g. emogen.talking.visemes) does not load
speech synthesis, torch or mediapipe.
"""
from importlib import import_module

_EXPORTS = {
    "talk": "emogen.talking.pipeline",
    "TalkResult": "emogen.talking.pipeline",
    "MotionTracks": "emogen.talking.tracks",
    "animate": "emogen.talking.animate",
    "AvatarPortrait": "emogen.talking.avatar_render",
    "speech_from_text": "emogen.talking.speech_input",
    "speech_from_wav": "emogen.talking.speech_input",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'emogen.talking' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
