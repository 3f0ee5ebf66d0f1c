"""The whole path on real espeak-ng audio: plans are realised (measured, not assumed) and scored."""
import numpy as np
import pytest

from emogen.speech import ProsodyPlan, speak
from emogen.speech.features import Analysis

TEXT = "The old lighthouse keeper walked slowly to the harbour. Nobody had seen the boat since Monday."


@pytest.fixture(scope="module")
def spoken():
    return {name: speak(TEXT, emotion=name) for name in ("neutral", "joy", "sadness", "anger", "fear")}


@pytest.mark.parametrize("name", ["joy", "sadness", "anger", "fear"])
def test_rendering_follows_the_plan(spoken, name):
    report = spoken[name].adherence
    assert report.mean_f0_error_semitones <= 1.0
    assert report.rate_error <= 0.10
    assert report.mean_energy_error_db <= 1.0
    assert report.mean_pause_error_s <= 0.05  # silence measured in the audio at "harbour."
    assert report.f0_words_scored >= 10 and len(report.words) == len(TEXT.split())


def test_neutral_rendering_is_close_to_the_engine_voice(spoken):
    result = spoken["neutral"]
    assert result.adherence.mean_f0_error_semitones < 0.3
    cues = result.cues
    assert abs(cues.f0_level) < 0.3 and abs(cues.intensity) < 0.5 and abs(cues.rate) < 0.05
    assert result.estimate.top1 == "neutral"


def test_measured_cues_move_the_way_the_literature_says(spoken):
    sad, angry, happy = spoken["sadness"].cues, spoken["anger"].cues, spoken["joy"].cues
    assert sad.f0_level < -1.5 and sad.intensity < -3 and sad.rate < 0 and sad.f0_variability < 0
    for cues in (angry, happy):
        assert cues.f0_level > 1.5 and cues.rate > 0 and cues.f0_variability > 0
    assert angry.intensity > happy.intensity > 0 and angry.hf_energy > happy.hf_energy
    assert spoken["fear"].cues.irregularity > angry.irregularity  # jitter and tremor are measurable


def test_scores_rank_arousal_and_find_the_clear_categories(spoken):
    arousal = {name: result.estimate.arousal for name, result in spoken.items()}
    assert arousal["sadness"] < arousal["neutral"] < arousal["joy"] < arousal["anger"]
    assert spoken["sadness"].estimate.top1 == "sadness" and spoken["anger"].estimate.top1 == "anger"
    assert spoken["joy"].estimate.valence > spoken["sadness"].estimate.valence


def test_arc_changes_delivery_within_one_utterance():
    result = speak(TEXT, emotion="joy@0 -> sadness@4")
    stats = Analysis.of(result.utterance).word_stats(Analysis.of(result.reference).track.median_hz())
    first = np.nanmean([s.f0_semitones for s in stats[:3]])
    last = np.nanmean([s.f0_semitones for s in stats[-3:]])
    assert first - last > 3.0
    # Loud joy then quiet sadness: speech is still found in the quiet part (rate measured right).
    assert result.adherence.mean_f0_error_semitones <= 1.0 and result.adherence.rate_error <= 0.10


def test_an_edited_plan_is_rendered_as_edited():
    data = ProsodyPlan.for_text("Please open the window now.", "neutral").to_dict()
    data["words"][3]["pitch_semitones"] = 6.0  # "window" up a tritone
    data["words"][3]["energy_db"] = 6.0
    result = speak(plan=ProsodyPlan.from_dict(data))
    row = result.adherence.words[3]
    assert row.word == "window" and row.measured_f0_semitones - result.adherence.words[2].measured_f0_semitones > 4.0
    assert row.measured_energy_db == pytest.approx(6.0, abs=1.0)


def test_long_text_is_split_and_still_follows_the_plan():
    text = " ".join(["this sentence has no end but keeps going on and on"] * 9)  # 99 words, no punctuation
    result = speak(text, emotion="anger")
    assert len(result.utterance.words) == 99
    starts = [w.start for w in result.utterance.words]
    assert starts == sorted(starts) and result.utterance.duration > 15
    assert result.adherence.rate_error <= 0.10

