import json
import math

import numpy as np
import pytest

from emogen.emotion import CATEGORY_SETS, Emotion, EmotionError, get_set
from emogen.emotion.categories import REGIONS, membership, rollup_matrix


@pytest.mark.parametrize("set_name", list(CATEGORY_SETS))
def test_category_to_vad_to_category_keeps_top(set_name):
    for category in CATEGORY_SETS[set_name].categories:
        emotion = Emotion.from_category(category, category_set=set_name)
        back = Emotion.from_vad(*emotion.vad, category_set=set_name)
        assert back.top == category, (set_name, category, back)


def test_every_prototype_is_cited_and_in_range():
    for region in REGIONS.values():
        assert region.source
        assert all(-1 <= x <= 1 for x in region.prototype)


def test_joy_intensity_scales_the_point():
    full, part = Emotion.parse("joy"), Emotion.parse("joy:0.8")
    assert part.top == "joy" and part.intensity == 0.8
    assert part.valence == pytest.approx(0.8 * full.valence)
    assert full.valence > 0.5 and full.arousal > 0


def test_synonyms_map_to_one_category():
    assert {Emotion.parse(w).top for w in ("happy", "happiness", "joy", "Joyful", " HAPPY ")} == {"joy"}
    assert Emotion.parse("scared").top == "fear"
    assert Emotion.parse("angry").top == "anger"


def test_mixture_weights_and_vad_are_the_weighted_prototypes():
    emotion = Emotion.parse("0.6 joy + 0.4 surprise")
    assert emotion.categories["joy"] == pytest.approx(0.6)
    assert emotion.categories["surprise"] == pytest.approx(0.4)
    joy, surprise = REGIONS["joy"].prototype, REGIONS["surprise"].prototype
    assert emotion.valence == pytest.approx(0.6 * joy[0] + 0.4 * surprise[0])
    assert emotion.arousal == pytest.approx(0.6 * joy[1] + 0.4 * surprise[1])
    assert Emotion.parse("60% joy + 40% surprise") == emotion
    assert Emotion.parse("joy + surprise").categories["joy"] == pytest.approx(0.5)


def test_negative_aroused_point_is_anger_or_fear():
    emotion = Emotion.parse("v=-0.7,a=0.7")
    assert emotion.top in {"anger", "fear"}
    assert emotion.categories["anger"] + emotion.categories["fear"] > 0.6


def test_vad_point_near_origin_is_neutral_and_weak():
    emotion = Emotion.parse("v=0.05,a=-0.05")
    assert emotion.top == "neutral" and emotion.intensity < 0.2


def test_dominance_is_optional_and_used_when_given():
    # Fear and anger sit at the same valence-arousal; dominance separates them.
    assert Emotion.parse("v=-0.55,a=0.65,d=0.6").top == "anger"
    assert Emotion.parse("v=-0.55,a=0.65,d=-0.6").top == "fear"


def test_set_selection_and_rollup():
    assert Emotion.parse("amusement").category_set == "mikels8"
    assert Emotion.parse("contempt").category_set == "mead8"
    assert Emotion.parse("amusement", "ekman7").top == "joy"
    assert Emotion.parse("contempt").to_set("ekman7").top in {"disgust", "anger"}
    assert Emotion.parse("joy", "mikels8").top in {"amusement", "excitement", "contentment"}
    assert Emotion.parse("joy").to_set("mead8").top == "joy"


@pytest.mark.parametrize("source", list(CATEGORY_SETS))
@pytest.mark.parametrize("target", list(CATEGORY_SETS))
def test_rollup_matrices_are_stochastic(source, target):
    matrix = rollup_matrix(get_set(source), get_set(target))
    assert np.allclose(matrix.sum(axis=1), 1.0) and (matrix >= 0).all()


def test_membership_is_a_distribution_peaked_at_prototype():
    ekman = get_set("ekman7")
    p = membership(np.array(REGIONS["sadness"].prototype), ekman)
    assert p.sum() == pytest.approx(1.0) and ekman.categories[int(np.argmax(p))] == "sadness"


@pytest.mark.parametrize("spec", ["joy", "joy:0.3", "0.6 joy + 0.4 surprise", "v=0.7,a=0.4", "v=-0.2,a=0.1,d=0.5,i=0.4", "awe", "contempt"])
def test_json_round_trip_is_exact(spec):
    emotion = Emotion.parse(spec)
    assert Emotion.from_json(emotion.to_json()) == emotion
    assert Emotion.parse(emotion.to_json()) == emotion
    data = json.loads(emotion.to_json())
    assert set(data) >= {"valence", "arousal", "dominance", "intensity", "categories"}


def test_emotion_is_immutable():
    emotion = Emotion.parse("joy")
    with pytest.raises(AttributeError):
        emotion.valence = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("hapy", "did you mean 'happy'"),
        ("joy:1.5", "intensity of 'joy' must be in [0, 1]"),
        ("0.5 joy + 0.2 sadness", "must sum to 1"),
        ("v=1.4,a=0", "valence must be in [-1, 1]"),
        ("v=0.3", "arousal missing"),
        ("v=0.3,a=0.2,x=1", "bad item 'x=1'"),
        ("v=nan,a=0", "valence must be in [-1, 1]"),
        ("", "empty emotion spec"),
        ("joy + joy", "appears twice"),
        ("0.5 joy + sadness", "give weights to all terms or to none"),
        ("{bad json", "not valid"),
        ("joy", None),
    ],
)
def test_bad_specs_raise_one_clear_error(spec, fragment):
    if fragment is None:
        Emotion.parse(spec)
        return
    with pytest.raises(EmotionError) as info:
        Emotion.parse(spec)
    assert fragment in str(info.value)


def test_unknown_set_names_the_accepted_ones():
    with pytest.raises(EmotionError, match="ekman7, mead8, mikels8"):
        Emotion.parse("joy", "plutchik")


def test_with_intensity_scales_vad_and_keeps_mixture():
    emotion = Emotion.parse("0.5 anger + 0.5 disgust").with_intensity(0.5)
    assert emotion.intensity == 0.5 and emotion.categories["anger"] == pytest.approx(0.5)
    assert math.isclose(emotion.valence, 0.5 * Emotion.parse("0.5 anger + 0.5 disgust").valence)


def test_neutral_in_a_set_without_neutral():
    emotion = Emotion.neutral("mikels8")
    assert emotion.intensity == 0.0 and emotion.vad == (0.0, 0.0, 0.0)


def test_intensity_of_a_vad_point_is_continuous():
    # Walk across the plane in small steps: intensity must not jump where the top category changes.
    grid = np.linspace(-1, 1, 161)
    for a in (-0.6, 0.0, 0.5, 0.9):
        values = [Emotion.from_vad(v, a).intensity for v in grid]
        assert max(abs(np.diff(values))) < 0.05, a
    assert Emotion.from_vad(*Emotion.parse("joy").vad[:2]).intensity > 0.9
