"""Frame-correlated diffusion noise for video (PYoCo's "mixed" noise, Ge et al., ICCV 2023).

Every frame's noise is ``sqrt(c) * shared + sqrt(1 - c) * own``: one draw shared by all frames of a clip
and one per frame, so each frame's noise is still unit Gaussian while any two frames' noises correlate
by ``c`` (the ``noise_correlation``). A video model trained on such noise learns that what the frames
have in common is carried by the shared part; sampled from it, the frames agree where the clip does
not move. With independent noise (c = 0) every frame starts from its own draw and the motion modules
must remove the difference.

Training and sampling need not use the same c. Measured on the shipped EmoFaces video model (trained
with c = 0.5, 400 CPU steps; bench/bench_video.py): sampled with its training value, text-to-video
flicker is 9.4x the ground truth's; sampled with nearly all of the noise shared it drops steeply
(c 0.9: 4.7x, 0.99: 1.6x, 0.997: 0.98x on 4 development clips), because what differs between frames
then comes from the per-frame emotion and the motion modules rather than from independent noise. It
is not free: the face also moves less (at 0.997 it keeps 0.36x of the ground truth's motion, and
arousal CCC falls from 0.80 to 0.74 over the 10 bench clips), and at c = 1 every frame starts from,
and every DDPM step adds, one draw: no flicker, and none of the motion the model can only draw from
noise (blinks, head motion). So the sampling value is a steadiness-versus-motion setting, recommended
per model in its emogen_sampling.json; the training value is stored in model_index.json and is the
pipeline's default.
"""
from __future__ import annotations

import inspect
import math

import torch
from diffusers import DDPMScheduler
from diffusers.utils.torch_utils import randn_tensor

from emogen.errors import EmotionError

FRAME_DIM = 2  # latents are [batch, channels, frames, height, width]


def check_noise_correlation(value) -> float:
    """``value`` as a float in [0, 1], or EmotionError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise EmotionError(f"noise_correlation must be a number in [0, 1] (0: independent frames, 1: one draw "
                           f"for all frames), got {value!r}")
    return float(value)


def mix_frame_noise(own: torch.Tensor, shared: torch.Tensor, correlation: float) -> torch.Tensor:
    """``sqrt(c) * shared + sqrt(1 - c) * own``; ``shared`` has size 1 on the frame axis."""
    if correlation == 0.0:
        return own
    return math.sqrt(correlation) * shared + math.sqrt(1.0 - correlation) * own


def shared_frame_noise(shape, generator: torch.Generator | None, device=None, dtype=None) -> torch.Tensor:
    """One Gaussian draw of ``shape`` with size 1 on the frame axis: the part every frame shares."""
    shared_shape = list(shape)
    shared_shape[FRAME_DIM] = 1
    return randn_tensor(tuple(shared_shape), generator=generator, device=device, dtype=dtype)


def frame_correlated_noise(shape, correlation: float, generator: torch.Generator | None = None,
                           device=None, dtype=None) -> torch.Tensor:
    """Unit Gaussian noise of ``shape`` (5-D latents) whose frames correlate by ``correlation``.

    With correlation 0 it is exactly ``randn_tensor(shape, generator)``: the same draw as independent noise."""
    own = randn_tensor(tuple(shape), generator=generator, device=device, dtype=dtype)
    if correlation == 0.0:
        return own
    return mix_frame_noise(own, shared_frame_noise(shape, generator, device, dtype), correlation)


def correlated_noise_like(latents: torch.Tensor, correlation: float) -> torch.Tensor:
    """Training noise for a batch of clips (torch's global generator, as ``torch.randn_like``)."""
    if correlation == 0.0:
        return torch.randn_like(latents)
    shared = torch.randn_like(latents.narrow(FRAME_DIM, 0, 1))
    return mix_frame_noise(torch.randn_like(latents), shared, correlation)


def correlated_ddpm_step(scheduler: DDPMScheduler, model_output: torch.Tensor, timestep, sample: torch.Tensor,
                         correlation: float, generator: torch.Generator | None) -> torch.Tensor:
    """One DDPM (ancestral) step whose added noise is frame-correlated like the training noise.

    DDPMScheduler.step draws its step noise itself (one ``randn_tensor`` of the sample's shape from
    ``generator``) and takes no noise argument. The step is ``mean + sigma * z``; this replays the same
    generator state to learn ``z``, then swaps it for ``mix(z, shared)``: ``mean + sigma * mix``."""
    if scheduler.config.variance_type not in ("fixed_small", "fixed_large"):
        raise EmotionError(f"noise_correlation > 0 with DDPM supports variance_type fixed_small or fixed_large; "
                           f"this scheduler has {scheduler.config.variance_type!r}")
    generator = generator if generator is not None else torch.Generator(sample.device).manual_seed(
        int(torch.randint(0, 2**31 - 1, ())))
    replay = torch.Generator(generator.device).set_state(generator.get_state())
    prev = scheduler.step(model_output, timestep, sample, generator=generator, return_dict=False)[0]
    t = int(timestep)
    if t == 0:  # the last step adds no noise
        return prev
    own = randn_tensor(model_output.shape, generator=replay, device=model_output.device, dtype=model_output.dtype)
    sigma = scheduler._get_variance(t) ** 0.5  # noqa: SLF001  (the std DDPMScheduler.step multiplies z by)
    shared = shared_frame_noise(own.shape, generator, own.device, own.dtype)
    return prev + sigma * (mix_frame_noise(own, shared, correlation) - own)


def scheduler_step(scheduler, model_output: torch.Tensor, timestep, sample: torch.Tensor, correlation: float,
                   generator: torch.Generator | None, extra_step_kwargs: dict) -> torch.Tensor:
    """``scheduler.step``'s previous sample, with frame-correlated step noise when ``correlation`` > 0.

    DDPM is handled by `correlated_ddpm_step`; schedulers whose step takes ``variance_noise`` (DDIM,
    DPM-Solver) get correlated noise there. Others could add independent noise a correlated model never
    saw, so they are refused."""
    if correlation == 0.0:
        return scheduler.step(model_output, timestep, sample, **extra_step_kwargs, return_dict=False)[0]
    if isinstance(scheduler, DDPMScheduler):
        return correlated_ddpm_step(scheduler, model_output, timestep, sample, correlation, generator)
    if "variance_noise" not in inspect.signature(scheduler.step).parameters:
        raise EmotionError(f"noise_correlation {correlation:g} needs a scheduler whose step noise can be given "
                           f"(DDPM, DDIM, DPM-Solver); {type(scheduler).__name__} draws its own")
    noise = frame_correlated_noise(model_output.shape, correlation, generator, model_output.device, model_output.dtype)
    kwargs = {key: value for key, value in extra_step_kwargs.items() if key != "generator"}
    return scheduler.step(model_output, timestep, sample, variance_noise=noise, **kwargs, return_dict=False)[0]
