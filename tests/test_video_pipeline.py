"""EmotionVideoPipeline and its motion UNet on tiny random components (32 px, a few frames, 2-3 steps)."""
import json

import numpy as np
import pytest
import torch
from diffusers import AnimateDiffPipeline

from emogen.emotion import EmotionArc
from emogen.errors import EmotionError
from emogen.image.tiny import tiny_components
from emogen.video.loading import load_video_pipeline
from emogen.video.pipeline import EmotionVideoPipeline, to_uint8
from emogen.video.tiny import tiny_video_components
from emogen.video.unet import EmotionUNetMotionModel, motion_adapter_for, motion_parameters, motion_unet

PROMPT = "a close-up portrait of a person"
STEPS = 2


def quiet(pipeline):
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def perturb(module, names, seed=1, std=0.3):
    """Give parts that start at zero (the adapter's residual output, motion outputs) some weight."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for name, parameter in module.named_parameters():
            if any(part in name for part in names):
                torch.nn.init.normal_(parameter, std=std)


def video(pipeline, emotion="joy", frames=4, fps=8.0, **kwargs):
    kwargs = {"num_inference_steps": STEPS, "seed": 0, "guidance_scale": 3.0, **kwargs}
    return pipeline(PROMPT, emotion, num_frames=frames, fps=fps, **kwargs).frames


@pytest.fixture(scope="module")
def trained_looking():
    """A pipeline whose emotion adapter and motion modules are not at their zero start."""
    pipeline = quiet(EmotionVideoPipeline(**tiny_video_components(mode="both")))
    perturb(pipeline.emotion_adapter, ["residual.mlp.2"])
    perturb(pipeline.unet, ["motion_modules"], std=0.05)
    return pipeline


@pytest.mark.parametrize("architecture", ["tiny", "emofaces64"])
def test_fresh_motion_modules_compute_the_image_unet_frame_by_frame(architecture):
    # emofaces64 has addition_embed_type="text": its pooled-context embedding must follow each frame too.
    unet2d = tiny_components(mode="both", pixel_space=True, architecture=architecture)["unet"].eval()
    unet = motion_unet(unet2d).eval()
    frames, size = 3, unet2d.config.sample_size
    sample = torch.randn(1, unet2d.config.in_channels, frames, size, size, generator=torch.Generator().manual_seed(0))
    context = torch.randn(frames, 81, unet2d.config.cross_attention_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        animated = unet(sample, 500, encoder_hidden_states=context).sample
        per_frame = torch.stack([unet2d(sample[:, :, k], 500, encoder_hidden_states=context[k:k + 1]).sample
                                 for k in range(frames)], dim=2)
    torch.testing.assert_close(animated, per_frame, rtol=1e-4, atol=1e-5)


def test_a_motion_unet_refuses_one_context_for_many_frames():
    unet = motion_unet(tiny_components(pixel_space=True, architecture="emofaces64")["unet"])
    with pytest.raises(EmotionError, match="one row per frame"):
        unet(torch.zeros(1, 3, 2, 64, 64), 10, encoder_hidden_states=torch.zeros(1, 77, 32))


def test_changing_one_frames_emotion_changes_that_frame_and_through_motion_the_others():
    pipeline = quiet(EmotionVideoPipeline(**tiny_video_components(mode="both")))
    perturb(pipeline.emotion_adapter, ["residual.mlp.2"])
    # 5 frames at 8 fps: t = 0 .. 0.5 s; the second arc differs from the constant one only at the last frame.
    constant, last_differs = "joy", "joy@0 -> joy@0.375 -> anger@0.5"
    base, changed = video(pipeline, constant, frames=5), video(pipeline, last_differs, frames=5)
    # Fresh motion modules add nothing: only the last frame may move, and it does.
    np.testing.assert_array_equal(base[:4], changed[:4])
    assert np.abs(base[4] - changed[4]).max() > 1e-3
    # Trained motion modules attend across frames: the change reaches the earlier frames.
    perturb(pipeline.unet, ["motion_modules"], std=0.05)
    base, changed = video(pipeline, constant, frames=5), video(pipeline, last_differs, frames=5)
    assert np.abs(base[4] - changed[4]).max() > 1e-3
    assert np.abs(base[0] - changed[0]).max() > 1e-6


def test_every_frame_gets_its_arcs_emotion(trained_looking):
    output = trained_looking(PROMPT, "joy@0 -> sadness@0.375", num_frames=4, fps=8.0, num_inference_steps=STEPS, seed=0)
    arc = EmotionArc.parse("joy@0 -> sadness@0.375")
    assert output.times == [0.0, 0.125, 0.25, 0.375]
    assert [e.to_dict() for e in output.emotions] == [arc.at(t).to_dict() for t in output.times]
    assert output.emotions[0].top == "joy" and output.emotions[-1].top == "sadness"
    assert output.frames.shape == (4, 32, 32, 3) and 0 <= output.frames.min() and output.frames.max() <= 1


def test_save_and_load_round_trip_gives_the_same_clip(trained_looking, tmp_path):
    expected = video(trained_looking, "joy@0 -> anger@0.375")
    trained_looking.save_pretrained(tmp_path)
    index = json.loads((tmp_path / "model_index.json").read_text())
    assert index["unet"] == ["emogen.video.unet", "EmotionUNetMotionModel"]
    loaded = quiet(EmotionVideoPipeline.from_pretrained(tmp_path, local_files_only=True))
    # Loaded weights are the saved ones; the kernels may sum in another order (1e-7 apart).
    np.testing.assert_allclose(video(loaded, "joy@0 -> anger@0.375"), expected, atol=1e-5)
    again = quiet(load_video_pipeline(tmp_path, local_files_only=True))
    np.testing.assert_allclose(video(again, "joy@0 -> anger@0.375"), expected, atol=1e-5)


def test_loads_a_real_animatediff_folder_and_matches_animatediff_until_the_adapter_trains(tmp_path):
    components = tiny_components(mode="residual")
    motion_adapter = motion_adapter_for(components["unet"], num_attention_heads=4, max_seq_length=16)
    perturb(motion_adapter, ["proj_out"], std=0.05)  # a "trained" motion adapter
    animatediff = quiet(AnimateDiffPipeline(
        unet=components["unet"], motion_adapter=motion_adapter, vae=components["vae"],
        text_encoder=components["text_encoder"], tokenizer=components["tokenizer"], scheduler=components["scheduler"]))
    animatediff.save_pretrained(tmp_path)
    expected = animatediff(PROMPT, num_frames=4, num_inference_steps=STEPS, guidance_scale=3.0,
                           generator=torch.Generator().manual_seed(0), output_type="np").frames[0]

    pipeline = quiet(load_video_pipeline(tmp_path, local_files_only=True))
    assert isinstance(pipeline, EmotionVideoPipeline)
    assert pipeline.emotion_adapter.config.mode == "residual"  # fresh: its residual output starts at zero
    ours = video(pipeline, "anger", frames=4)
    np.testing.assert_allclose(ours, expected, atol=2e-5)


def test_image_to_video_at_strength_zero_is_the_still_and_anchoring_keeps_frame_zero():
    pipeline = quiet(EmotionVideoPipeline(**tiny_video_components(pixel_space=True)))
    rng = np.random.default_rng(0)
    still = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    frames = to_uint8(video(pipeline, "joy@0 -> sadness@0.375", image=still, strength=0.0))
    assert frames.shape == (4, 32, 32, 3)
    for frame in frames:
        np.testing.assert_array_equal(frame, still)
    anchored = to_uint8(video(pipeline, "joy@0 -> sadness@0.375", image=still, strength=1.0,
                                   anchor_first_frame=True, num_inference_steps=3))
    np.testing.assert_array_equal(anchored[0], still)
    assert np.abs(anchored[1:].astype(int) - still).mean() > 20  # the rest is drawn from noise


def test_more_strength_departs_further_from_the_still():
    pipeline = quiet(EmotionVideoPipeline(**tiny_video_components(pixel_space=True)))
    still = np.full((32, 32, 3), 128, np.uint8)
    distances = [np.abs(to_uint8(video(pipeline, "joy", image=still, strength=s, num_inference_steps=4)).astype(int)
                        - still).mean() for s in (0.25, 1.0)]
    assert distances[0] < distances[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"num_frames": 0}, "num_frames must be an integer from 1 to 16"),
    ({"num_frames": 17}, "num_frames must be an integer from 1 to 16, got 17"),
    ({"fps": 0}, "fps must be"),
    ({"fps": 500}, "fps must be"),
    ({"emotion": "joy@0 -> sadness@2"}, "the emotion arc lasts 2s but 4 frames at 8 fps end at 0.375s"),
    ({"emotion": "glee"}, "emotion:"),
    ({"strength": 1.5}, "strength must be a number in"),
    ({"anchor_first_frame": True}, "anchor_first_frame needs an image"),
    ({"image": np.zeros((4, 4), np.uint8)}, "image must be an RGB"),
    ({"prompt": " "}, "prompt must not be empty"),
    ({"prompt": ["a", "b"]}, "prompt must be one string"),
])
def test_bad_input_names_the_argument(trained_looking, kwargs, message):
    call = {"prompt": PROMPT, "emotion": "joy", "num_frames": 4, "fps": 8.0, "num_inference_steps": 1, **kwargs}
    with pytest.raises(EmotionError, match=message):
        trained_looking(call.pop("prompt"), call.pop("emotion"), **call)


def test_the_class_labels_baseline_cannot_be_animated():
    components = tiny_components(mode="class_labels")
    with pytest.raises(EmotionError, match="class"):
        EmotionVideoPipeline(**components)


def test_only_motion_modules_are_motion_parameters():
    unet = motion_unet(tiny_components()["unet"])
    names = {name for name, p in unet.named_parameters() if any(p is q for q in motion_parameters(unet))}
    assert names and all("motion_modules" in name for name in names)
    assert isinstance(unet, EmotionUNetMotionModel) and unet.config.addition_embed_type is None
