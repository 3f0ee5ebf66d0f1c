"""ProsodyPlan: literature directions, arcs, JSON that people edit."""
import json

import pytest

from emogen.emotion import Emotion, EmotionArc
from emogen.emotion.categories import REGIONS
from emogen.errors import EmotionError
from emogen.speech.cues import CUE_PATTERNS, PLAN_CUES, cues_for
from emogen.speech.plan import ProsodyPlan
from emogen.speech.text import check_text, chunk_words, split_words

TEXT = "Hello there, how are you today? I am fine."


def test_every_category_has_a_cited_cue_row_and_the_scored_ones_a_pattern():
    assert set(PLAN_CUES) == set(REGIONS)
    assert all(row.source for row in PLAN_CUES.values())
    assert set(CUE_PATTERNS) <= set(REGIONS)


def test_cues_follow_the_literature_directions():
    neutral, sad, angry, happy = (cues_for(Emotion.parse(s)) for s in ("neutral", "sadness", "anger", "joy"))
    assert neutral.pitch_semitones == 0 and neutral.rate == 1 and neutral.energy_db == 0
    # Sadness: lower, flatter, quieter, slower, longer pauses; anger and joy: higher, wider, louder, faster.
    assert sad.pitch_semitones < 0 and sad.pitch_range < 1 and sad.energy_db < 0 and sad.rate < 1 and sad.pause > 1
    for aroused in (angry, happy):
        assert aroused.pitch_semitones > 0 and aroused.pitch_range > 1 and aroused.energy_db > 0 and aroused.rate > 1
    assert angry.energy_db > happy.energy_db and angry.tension_db > happy.tension_db


def test_intensity_scales_cues_and_mixtures_stay_between_their_parts():
    full, half = cues_for(Emotion.parse("anger")), cues_for(Emotion.parse("anger:0.5"))
    assert half.energy_db == pytest.approx(full.energy_db / 2)
    assert half.rate == pytest.approx(full.rate ** 0.5)  # factors mix in the log domain
    mixed = cues_for(Emotion.parse("0.5 joy + 0.5 sadness"))
    assert cues_for(Emotion.parse("sadness")).pitch_semitones < mixed.pitch_semitones < cues_for(Emotion.parse("joy")).pitch_semitones


def test_plan_has_one_entry_per_word_and_pauses_at_punctuation():
    plan = ProsodyPlan.for_text(TEXT, "sadness")
    assert [w.word for w in plan.words] == TEXT.split()
    pauses = {w.word: w.pause_after_s for w in plan.words}
    assert pauses["today?"] > pauses["there,"] > 0 and pauses["how"] == 0
    assert pauses["today?"] > ProsodyPlan.for_text(TEXT, "joy").words[5].pause_after_s  # sad pauses are longer


def test_arc_moves_across_the_words():
    plan = ProsodyPlan.from_arc(TEXT, EmotionArc.parse("joy@0 -> sadness@2"))
    first, last = plan.words[0].cues, plan.words[-1].cues
    assert first.pitch_semitones > 2 and last.pitch_semitones < -2
    starts = [w.start_s for w in plan.words]
    assert starts == sorted(starts) and starts[-1] > 2.0


def test_json_round_trip_is_compact_and_exact():
    plan = ProsodyPlan.for_text(TEXT, "joy:0.7")
    data = json.loads(plan.to_json())
    assert set(data["words"][0]) == {"word", "start_s", "pause_after_s"}  # constant emotion: only defaults
    again = ProsodyPlan.from_json(plan.to_json())
    assert again.to_dict() == data
    arc_plan = ProsodyPlan.from_arc(TEXT, EmotionArc.parse("joy@0 -> anger@2"))
    assert ProsodyPlan.from_dict(arc_plan.to_dict()).to_dict() == arc_plan.to_dict()


def test_edited_plan_keeps_word_overrides_and_utterance_defaults():
    data = ProsodyPlan.for_text(TEXT, "neutral").to_dict()
    data["utterance"]["energy_db"] = -3.0
    data["words"][1]["pitch_semitones"] = 4.0
    plan = ProsodyPlan.from_dict(data)
    assert plan.words[1].cues.pitch_semitones == 4.0 and plan.words[0].cues.pitch_semitones == 0.0
    assert all(w.cues.energy_db == -3.0 for w in plan.words)
    minimal = ProsodyPlan.from_dict({"text": "Quiet now.", "utterance": {"rate": 0.8}})
    assert [w.word for w in minimal.words] == ["Quiet", "now."] and minimal.words[1].cues.rate == 0.8


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d["words"][1].update(pitch_semitones=40), "pitch_semitones must be a number in [-12, 12]"),
    (lambda d: d["words"][1].update(rate="fast"), "rate must be a number"),
    (lambda d: d["words"][2].update(word="Howdy"), "the text has 'how'"),
    (lambda d: d["words"].pop(), "plan has 8 words but its text has 9"),
    (lambda d: d["utterance"].update(loudness=3), "unknown keys ['loudness']"),
    (lambda d: d.update(text=""), "text is empty"),
    (lambda d: d.update(version=9), "plan version 9 is not supported"),
])
def test_bad_plans_name_the_bad_value(edit, fragment):
    data = ProsodyPlan.for_text(TEXT, "joy").to_dict()
    edit(data)
    with pytest.raises(EmotionError) as err:
        ProsodyPlan.from_dict(data)
    assert fragment in str(err.value)


@pytest.mark.parametrize("text, fragment", [
    ("", "text is empty"),
    ("   \n", "text is empty"),
    ("hello\x00world", "control character U+0000 at position 5"),
    ("bad \ue000 char", "private-use character U+E000"),
    ("?!... --", "no letters or digits"),
    ("a " * 10_001, "at most 20000"),
])
def test_bad_text_is_refused_with_the_reason(text, fragment):
    with pytest.raises(EmotionError) as err:
        check_text(text)
    assert fragment in str(err.value)


def test_long_text_is_cut_into_sentences_and_bounded_chunks():
    words = split_words("One two three. " + "word " * 95 + "end.")
    chunks = chunk_words(words, max_words=40)
    assert chunks[0] == range(0, 3)
    assert sum(len(c) for c in chunks) == len(words) and all(len(c) <= 40 for c in chunks)
    assert [c.start for c in chunks[1:]] == [c.stop for c in chunks[:-1]]
