"""Frame-correlated noise (emogen.video.noise): its statistics, the DDPM step that adds it, and the pipeline
that samples with the correlation its model was trained on unless asked for another."""
import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler
from diffusers.utils.torch_utils import randn_tensor

from emogen.errors import EmotionError
from emogen.video.metrics import frame_difference
from emogen.video.noise import correlated_noise_like, frame_correlated_noise, scheduler_step
from emogen.video.pipeline import EmotionVideoPipeline
from emogen.video.tiny import tiny_video_components


def frame_correlations(noise: torch.Tensor) -> np.ndarray:
    """The off-diagonal correlations between frames of [B, C, F, H, W] noise."""
    frames = noise.permute(2, 0, 1, 3, 4).reshape(noise.shape[2], -1).double().numpy()
    matrix = np.corrcoef(frames)
    return matrix[~np.eye(len(matrix), dtype=bool)]


@pytest.mark.parametrize("correlation", [0.0, 0.3, 0.7])
def test_noise_is_unit_gaussian_with_the_asked_frame_correlation(correlation):
    noise = frame_correlated_noise((8, 3, 6, 32, 32), correlation, torch.Generator().manual_seed(0))
    assert abs(noise.std().item() - 1.0) < 0.01 and abs(noise.mean().item()) < 0.01
    assert np.abs(frame_correlations(noise) - correlation).max() < 0.03
    torch.manual_seed(1)
    training = correlated_noise_like(torch.zeros(8, 3, 6, 32, 32), correlation)
    assert abs(training.std().item() - 1.0) < 0.01
    assert np.abs(frame_correlations(training) - correlation).max() < 0.03


def test_zero_correlation_is_exactly_independent_noise():
    shape = (1, 3, 4, 8, 8)
    assert torch.equal(frame_correlated_noise(shape, 0.0, torch.Generator().manual_seed(3)),
                       randn_tensor(shape, generator=torch.Generator().manual_seed(3)))


def ddpm_posterior(scheduler: DDPMScheduler, eps: torch.Tensor, t: int, x: torch.Tensor):
    """Ho et al.'s posterior mean and standard deviation for an epsilon prediction, written out here
    (eq. 6-7), independent of the code under test."""
    prev_t = scheduler.previous_timestep(t)
    abar, abar_prev = scheduler.alphas_cumprod[t], scheduler.alphas_cumprod[prev_t]
    alpha = abar / abar_prev
    x0 = (x - (1 - abar).sqrt() * eps) / abar.sqrt()
    mean = (abar_prev.sqrt() * (1 - alpha) / (1 - abar)) * x0 + (alpha.sqrt() * (1 - abar_prev) / (1 - abar)) * x
    variance = (1 - abar_prev) / (1 - abar) * (1 - alpha)
    return mean, variance.clamp(min=1e-20).sqrt()


def test_the_ddpm_step_adds_posterior_noise_correlated_across_frames():
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=False)
    scheduler.set_timesteps(10)
    t = int(scheduler.timesteps[3])
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, 8, 24, 24, generator=generator)
    eps = torch.randn(x.shape, generator=generator)
    mean, sigma = ddpm_posterior(scheduler, eps, t, x)

    stepped = scheduler_step(scheduler, eps, t, x, 0.6, torch.Generator().manual_seed(5), {})
    added = (stepped - mean) / sigma
    assert abs(added.std().item() - 1.0) < 0.02
    assert np.abs(frame_correlations(added) - 0.6).max() < 0.04
    independent = scheduler.step(eps, t, x, generator=torch.Generator().manual_seed(5), return_dict=False)[0]
    assert np.abs(frame_correlations((independent - mean) / sigma)).max() < 0.04
    # The last step adds no noise: the posterior mean itself.
    last = scheduler_step(scheduler, eps, 0, x, 0.6, torch.Generator().manual_seed(5), {})
    assert torch.allclose(last, scheduler.step(eps, 0, x, return_dict=False)[0])


def test_ddim_gets_correlated_noise_and_schedulers_that_draw_their_own_are_refused():
    x = torch.randn(2, 3, 6, 16, 16)
    ddim = DDIMScheduler(num_train_timesteps=1000, clip_sample=False)
    ddim.set_timesteps(10)
    t = int(ddim.timesteps[2])
    # DDIM's step with eta 1 is its mean plus sigma times the noise given; a zero noise gives the mean.
    mean = ddim.step(x, t, x, eta=1.0, variance_noise=torch.zeros_like(x), return_dict=False)[0]
    stepped = scheduler_step(ddim, x, t, x, 0.8, torch.Generator().manual_seed(0), {"eta": 1.0})
    assert np.abs(frame_correlations(stepped - mean) - 0.8).max() < 0.04
    euler = EulerDiscreteScheduler(num_train_timesteps=1000)
    euler.set_timesteps(10)
    with pytest.raises(EmotionError, match="EulerDiscreteScheduler draws its own"):
        scheduler_step(euler, x, euler.timesteps[0], x, 0.5, None, {})


def test_the_pipeline_keeps_its_correlation_through_save_and_load_and_shared_noise_steadies_the_frames(tmp_path):
    pipeline = EmotionVideoPipeline(**tiny_video_components(mode="both", pixel_space=True), noise_correlation=0.5)
    pipeline.set_progress_bar_config(disable=True)
    pipeline.save_pretrained(tmp_path)
    loaded = EmotionVideoPipeline.from_pretrained(tmp_path)
    loaded.set_progress_bar_config(disable=True)
    assert loaded.config.noise_correlation == 0.5
    call = {"num_frames": 6, "fps": 4, "num_inference_steps": 4, "seed": 2}
    clip = pipeline("a face", "joy", **call).frames
    assert np.abs(clip - loaded("a face", "joy", **call).frames).max() < 1e-5
    # The motion modules are untrained (zero output), so each frame is the image model on its own
    # noise: the more of it the frames share, the less they differ.
    differences = [frame_difference(pipeline("a face", "joy", noise_correlation=c, **call).frames)
                   for c in (0.0, 0.5, 0.9, 1.0)]
    assert differences[0] > differences[1] > differences[2] > differences[3]
    # c = 1: one draw for every frame, initial and every DDPM step's, so with one emotion for the whole
    # clip and nothing from the (untrained) motion modules the frames are the same image.
    assert differences[3] < 1e-6


def test_full_correlation_gives_every_frame_the_same_noise():
    noise = frame_correlated_noise((2, 3, 5, 8, 8), 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(noise, noise[:, :, :1].expand_as(noise))
    assert abs(float(noise.std()) - 1.0) < 0.1


@pytest.mark.parametrize("value", [1.5, -0.1, "half", True])
def test_a_bad_correlation_is_named(value):
    pipeline = EmotionVideoPipeline(**tiny_video_components(mode="both"))
    with pytest.raises(EmotionError, match="noise_correlation must be a number in \\[0, 1\\]"):
        pipeline("a face", "joy", num_frames=4, fps=4, num_inference_steps=1, noise_correlation=value)
    with pytest.raises(EmotionError, match="noise_correlation"):
        EmotionVideoPipeline(**tiny_video_components(mode="both"), noise_correlation=value)
