import json

import numpy as np
import pytest

from emogen.emotion import Emotion, EmotionArc, EmotionError


def test_parse_and_endpoints():
    arc = EmotionArc.parse("joy@0 -> sadness@3.5")
    assert arc.duration == 3.5
    assert arc.at(0).top == "joy" and arc.at(3.5).top == "sadness"
    assert arc.at(-1) == arc.at(0) and arc.at(10) == arc.at(3.5)


def test_time_units():
    assert EmotionArc.parse("joy@0s -> anger@1500ms").duration == 1.5


def test_sampling_counts_and_times():
    arc = EmotionArc.parse("joy@0 -> sadness@3.5")
    times = arc.frame_times(5)
    assert len(times) == 18 and times[-1] == pytest.approx(3.4)
    assert len(arc.sample(2)) == 8  # 0, 0.5, ..., 3.5
    assert len(arc.sample(10, frames=16)) == 16


def test_smooth_interpolation_is_monotone_and_eased():
    arc = EmotionArc.parse("joy@0 -> sadness@2")
    valence = np.array([e.valence for e in arc.sample(50)])
    assert np.all(np.diff(valence) <= 1e-12)
    # Eased: slow at the keyframes, fastest in the middle.
    steps = -np.diff(valence)
    assert steps[0] < steps[len(steps) // 2] and steps[-1] < steps[len(steps) // 2]
    mid = arc.at(1.0)
    assert mid.categories["joy"] == pytest.approx(0.5) and mid.categories["sadness"] == pytest.approx(0.5)


def test_linear_interpolation_from_json():
    arc = EmotionArc.parse(json.dumps({"interpolation": "linear", "keyframes": [
        {"time": 0, "emotion": "v=0,a=0,d=0,i=0"}, {"time": 2, "emotion": "v=1,a=0,d=0,i=1"}]}))
    assert arc.at(0.5).valence == pytest.approx(0.25)


def test_every_sampled_frame_is_a_valid_emotion():
    arc = EmotionArc.parse("0.7 joy + 0.3 surprise@0 -> v=-0.6,a=0.8@1 -> contempt@2.2")
    for emotion in arc.sample(30):
        assert sum(emotion.probs) == pytest.approx(1.0)
        assert emotion.category_set == arc.category_set


def test_single_keyframe_is_constant():
    arc = EmotionArc.parse("anger:0.6")
    frames = arc.sample(10, duration=2.0)
    assert len(frames) == 21 and all(f == Emotion.parse("anger:0.6") for f in frames)


def test_json_round_trip():
    arc = EmotionArc.parse("joy@0 -> sadness@3.5 -> neutral@4")
    assert EmotionArc.from_json(arc.to_json()) == arc


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("joy@2 -> sadness@1", "times must increase"),
        ("joy@0 -> sadness@0", "times must increase"),
        ("joy@-1 -> sadness@1", "is not a time"),
        ("joy@0 -> sadness", "has no time"),
        ("joy@0 -> sadness@abc", "is not a time"),
        ("joy@0 -> hapy@1", "did you mean"),
        ('{"keyframes": []}', "non-empty list"),
        ('{"keyframes": [{"time": "x", "emotion": "joy"}]}', "must be a number"),
    ],
)
def test_malformed_arcs(spec, fragment):
    with pytest.raises(EmotionError) as info:
        EmotionArc.parse(spec)
    assert fragment in str(info.value)


@pytest.mark.parametrize("fps", [0, -5, 1e6, float("nan")])
def test_bad_fps(fps):
    with pytest.raises(EmotionError, match="fps"):
        EmotionArc.parse("joy").frame_times(fps)
