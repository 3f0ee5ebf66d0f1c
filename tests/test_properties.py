"""Property-based tests: whatever string a user types, only EmotionError escapes."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emogen.emotion import CATEGORY_SETS, Emotion, EmotionArc, EmotionError, UNIVERSAL_CATEGORIES

WORDS = st.sampled_from(list(UNIVERSAL_CATEGORIES) + ["happy", "sad", "hapy", "v", "a", "d", "i", "nan", "inf", "1e309"])
FRAGMENTS = st.sampled_from(["+", ":", "@", "->", "=", ",", " ", "%", "*", "{", "}", "-", ".", "0.5", "1", "2", "s", "ms"])
SPEC_LIKE = st.lists(st.one_of(WORDS, FRAGMENTS), max_size=12).map("".join)
settings.register_profile("emogen", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("emogen")


def _only_emotion_errors(function, text):
    try:
        function(text)
    except EmotionError:
        pass


@given(st.one_of(st.text(max_size=60), SPEC_LIKE))
def test_emotion_parser_raises_only_emotion_error(text):
    _only_emotion_errors(Emotion.parse, text)


@given(st.one_of(st.text(max_size=60), SPEC_LIKE))
def test_arc_parser_raises_only_emotion_error(text):
    _only_emotion_errors(EmotionArc.parse, text)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=8), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["valence", "arousal", "categories", "keyframes", "time", "emotion", "joy", "x"]), c, max_size=4), max_leaves=10))
def test_json_inputs_raise_only_emotion_error(value):
    text = json.dumps(value)
    _only_emotion_errors(Emotion.parse, text)
    _only_emotion_errors(EmotionArc.parse, text)


@given(st.floats(-1, 1), st.floats(-1, 1), st.one_of(st.none(), st.floats(-1, 1)), st.sampled_from(list(CATEGORY_SETS)))
def test_any_vad_point_gives_a_valid_emotion_that_round_trips(v, a, d, set_name):
    emotion = Emotion.from_vad(v, a, d, category_set=set_name)
    assert abs(sum(emotion.probs) - 1) < 1e-9 and 0 <= emotion.intensity <= 1
    assert Emotion.from_json(emotion.to_json()) == emotion


@given(st.dictionaries(st.sampled_from(["joy", "sadness", "anger", "fear", "surprise", "awe", "contempt"]), st.floats(0.01, 1), min_size=1, max_size=4), st.floats(0, 1))
def test_any_mixture_maps_to_a_point_inside_the_cube(weights, intensity):
    total = sum(weights.values())
    emotion = Emotion.from_mixture({k: w / total for k, w in weights.items()}, intensity=intensity)
    assert all(-1 <= x <= 1 for x in emotion.vad)
    for target in CATEGORY_SETS:
        assert abs(sum(emotion.to_set(target).probs) - 1) < 1e-9
