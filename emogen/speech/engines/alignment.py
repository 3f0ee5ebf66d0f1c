"""Word times for engines that only report phones: match phone groups to the words of the text.

An engine's phonemiser may say "1990" as two words or glue two words together, so phone groups are
matched to text words only where their counts agree. Elsewhere the words of a phrase (up to a comma or
full stop) share the phrase's time by their length in characters: exact at phrase edges, approximate
inside.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from emogen.speech.engines.base import Timing
from emogen.speech.text import Word


def phrases(words: Sequence[Word]) -> list[list[Word]]:
    """Words grouped into phrases that end at punctuation."""
    grouped, current = [], []
    for word in words:
        current.append(word)
        if word.boundary:
            grouped.append(current)
            current = []
    if current:
        grouped.append(current)
    return grouped


def align_words(words: Sequence[Word], phrase_groups: list[list[tuple[float, float]]]) -> tuple[Timing, ...]:
    """One Timing per word from the engine's phrases, each a list of (start, end) per spoken word group.

    Falls back to one phrase for the whole text when the engine's phrases do not match the punctuation.
    """
    text_phrases = phrases(words)
    if len(phrase_groups) != len(text_phrases):
        flat = [group for phrase in phrase_groups for group in phrase]
        phrase_groups = [flat] if flat else [[(0.0, 0.0)]]
        text_phrases = [list(words)]
    timings: list[Timing] = []
    for phrase, groups in zip(text_phrases, phrase_groups):
        if len(groups) == len(phrase):
            timings += [Timing(w.text, start, end) for w, (start, end) in zip(phrase, groups)]
        else:
            timings += _spread(phrase, groups[0][0], groups[-1][1])
    return tuple(timings)


def _spread(phrase: Sequence[Word], start: float, end: float) -> list[Timing]:
    lengths = np.array([len(w.text) for w in phrase], dtype=np.float64)
    edges = start + (end - start) * np.concatenate([[0.0], np.cumsum(lengths) / lengths.sum()])
    return [Timing(w.text, float(a), float(b)) for w, a, b in zip(phrase, edges[:-1], edges[1:])]
