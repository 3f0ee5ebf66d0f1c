"""emogen.video.metrics on real EmoFaces clips and the real EmoFaces scorer (no generator needed)."""
import numpy as np
import pytest

from emogen.video.metrics import (
    case_from_clip,
    clip_measures,
    evaluate_clips,
    frame_difference,
    identity_consistency,
    opposite_arc,
    score_frames,
    static_mask,
    summarise,
    validation_cases,
)


@pytest.fixture(scope="module")
def scorer():
    from emogen.score.emofaces import EmoFacesScorer

    return EmoFacesScorer()


@pytest.fixture(scope="module")
def case():
    return validation_cases(1, 16, 4.0)[0]  # joy -> sadness on a held-out identity


def test_ground_truth_clip_follows_its_own_arc(scorer, case):
    frames = case.ground_truth(64)
    measures = clip_measures(frames, [f.emotion for f in case.frames], score_frames(scorer, frames), frames)
    assert case.arc_spec.startswith("joy@") and "-> sadness@" in case.arc_spec
    assert measures["ccc_valence"] > 0.9  # the scorer reads the rendered faces' valence
    assert measures["end_state_correct"] == 1.0 and measures["end_state_measured"] == "sadness"
    assert measures["flicker_ratio"] == pytest.approx(1.0)
    assert measures["static_flicker"] < 1e-5 and 0.5 < measures["static_fraction"] < 1.0  # below 1/255 per pixel
    assert measures["identity_consistency"] > 0.9


def test_a_frozen_clip_cannot_follow_an_arc(scorer, case):
    frames = case.ground_truth(64)
    frozen = np.repeat(frames[:1], len(frames), axis=0)  # the first frame (joy) held
    measures = clip_measures(frozen, [f.emotion for f in case.frames], score_frames(scorer, frozen), frames)
    assert measures["ccc_valence"] < 0.1 and measures["end_state_correct"] == 0.0
    assert measures["flicker"] == 0.0 and measures["identity_consistency"] == pytest.approx(1.0)


def test_noise_is_flicker_and_a_new_identity_is_not_the_same_face(case):
    frames = case.ground_truth(64)
    noisy = np.clip(frames.astype(int) + np.random.default_rng(0).integers(-20, 21, frames.shape), 0, 255).astype(np.uint8)
    mask = static_mask(frames)
    assert frame_difference(noisy, mask) > 0.02 > frame_difference(frames, mask)
    other = case_from_clip(5, 16, 4.0).ground_truth(64)  # another held-out identity
    assert identity_consistency(frames, reference=other[0]) < identity_consistency(frames) - 0.2


def test_opposite_arcs_hold_each_end_for_a_quarter():
    assert opposite_arc("joy", 16, 4.0) == "joy@0.938 -> sadness@2.812"


def test_summary_averages_and_renames_end_state():
    rows = [{"ccc_valence": 1.0, "ccc_arousal": 0.0, "end_state_correct": 1.0},
            {"ccc_valence": 0.5, "ccc_arousal": 1.0, "end_state_correct": 0.0}]
    assert summarise(rows) == {"ccc_valence": 0.75, "ccc_arousal": 0.5, "end_state_accuracy": 0.5}


def test_pooled_ccc_counts_every_frame_so_a_flat_clip_read_with_a_bias_does_not_sink_it():
    # clip 1 sweeps arousal -0.5 -> 0.5 and is read exactly; clip 2 holds 0.5 and is read 0.1 low (CCC 0)
    sweep, flat = list(np.linspace(-0.5, 0.5, 8)), [0.5] * 8
    rows = [{"ccc_arousal": 1.0, "target_arousal": sweep, "measured_arousal": sweep,
             "target_valence": sweep, "measured_valence": sweep},
            {"ccc_arousal": 0.0, "target_arousal": flat, "measured_arousal": [0.4] * 8,
             "target_valence": flat, "measured_valence": flat}]
    summary = summarise(rows)
    assert summary["ccc_arousal"] == 0.5
    target, measured = np.array(sweep + flat), np.array(sweep + [0.4] * 8)
    expected = 2 * np.mean((target - target.mean()) * (measured - measured.mean())) / (
        target.var() + measured.var() + (target.mean() - measured.mean()) ** 2)
    assert summary["pooled_ccc_arousal"] == pytest.approx(expected) and 0.9 < expected < 1.0
    assert summary["pooled_ccc_valence"] == pytest.approx(1.0)


def test_evaluate_clips_generates_scores_and_measures_image_to_video(scorer):
    from emogen.video.pipeline import EmotionVideoPipeline
    from emogen.video.tiny import tiny_video_components

    pipeline = EmotionVideoPipeline(**tiny_video_components(pixel_space=True, image_size=64))
    pipeline.set_progress_bar_config(disable=True)
    cases = validation_cases(1, 4, 4.0)
    summary, clips = evaluate_clips(pipeline, scorer, cases, image_to_video=True, strength=0.0,
                                    num_inference_steps=2, guidance_scale=1.0)
    assert len(clips) == 1 and len(clips[0]) == 4
    # strength 0 keeps the still (the ground truth's first frame) in every frame
    assert summary["identity_to_still"] == pytest.approx(1.0)
    assert summary["flicker"] == 0.0 and summary["clips"][0]["case"] == "joy->sadness"
