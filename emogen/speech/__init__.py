"""Expressive speech: prosody plans from emotions, engines, post-processing, and a prosody scorer."""
from emogen.speech.plan import ProsodyPlan, WordPlan
from emogen.speech.speak import SpeechResult, speak

__all__ = ["ProsodyPlan", "SpeechResult", "WordPlan", "speak"]
