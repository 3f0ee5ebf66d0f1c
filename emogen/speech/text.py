"""Text checks and splitting: what a speech engine is given, word by word and sentence by sentence."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from emogen.errors import EmotionError

# About 20 minutes of speech; longer texts belong in several files (the whole output is kept in memory).
MAX_TEXT_CHARS = 20_000
# Engines are given one sentence at a time; a run-on "sentence" is cut after this many words.
MAX_CHUNK_WORDS = 40
# Control, format, private-use, unassigned and surrogate code points have no pronunciation.
_REJECTED_CATEGORIES = {"Cc": "control", "Cf": "format", "Co": "private-use", "Cn": "unassigned", "Cs": "surrogate"}
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*$")
_CLAUSE_END = re.compile(r"[,;:—–]+[\"')\]]*$")


@dataclass(frozen=True)
class Word:
    """One word of the text, with its character span and the punctuation that follows it."""

    text: str
    start: int
    end: int
    boundary: str  # "sentence", "clause" or "" (what the punctuation after it marks)


def check_text(text: object) -> str:
    """``text`` if an engine can speak it; an EmotionError naming the problem otherwise."""
    if not isinstance(text, str):
        raise EmotionError(f"text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise EmotionError("text is empty: give at least one word to speak")
    if len(text) > MAX_TEXT_CHARS:
        raise EmotionError(
            f"text has {len(text)} characters; at most {MAX_TEXT_CHARS} are spoken in one call "
            "(split it into several files)"
        )
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in _REJECTED_CATEGORIES and char not in "\n\r\t":
            raise EmotionError(
                f"text has an unsupported {_REJECTED_CATEGORIES[category]} character U+{ord(char):04X} at "
                f"position {position}; accepted: letters, digits, punctuation, symbols and white space"
            )
    if not any(char.isalnum() for char in text):
        raise EmotionError(f"text {text[:40]!r} has no letters or digits: nothing to speak")
    return text


def split_words(text: str) -> tuple[Word, ...]:
    """The words of ``text``: white-space separated tokens with a letter or digit.

    A token of punctuation only ("—", "...") belongs to the word before it, so its pause is kept.
    """
    words: list[Word] = []
    for match in re.finditer(r"\S+", text):
        token = match.group()
        if not any(char.isalnum() for char in token):
            if words:
                last = words[-1]
                words[-1] = Word(last.text, last.start, last.end, _boundary(token) or last.boundary)
            continue
        words.append(Word(token, match.start(), match.end(), _boundary(token)))
    return tuple(words)


def _boundary(token: str) -> str:
    if _SENTENCE_END.search(token):
        return "sentence"
    if _CLAUSE_END.search(token):
        return "clause"
    return ""


def chunk_words(words: tuple[Word, ...], max_words: int = MAX_CHUNK_WORDS) -> list[range]:
    """Word index ranges, one per sentence; sentences longer than ``max_words`` are cut at clauses or words."""
    chunks: list[range] = []
    start = 0
    last_clause = None
    for index, word in enumerate(words):
        if word.boundary == "clause":
            last_clause = index
        if word.boundary == "sentence" or index == len(words) - 1:
            end = index + 1
        elif index + 1 - start >= max_words:
            end = (last_clause + 1) if last_clause is not None and last_clause >= start else index + 1
        else:
            continue
        chunks.append(range(start, end))
        start, last_clause = end, None
    return chunks
