"""`EmotionDiffusionPipeline`: text + emotion -> image, for any SD-1.x/2.x-layout model.

It reads like diffusers' StableDiffusionPipeline: check_inputs -> encode_prompt -> condition (the
emotion adapter) -> prepare_latents -> denoising loop -> decode. With a zero-initialised adapter it
computes exactly what StableDiffusionPipeline computes (tests compare the two bit for bit).

Guidance has two conditions, the text and the emotion (as InstructPix2Pix has two):

    eps = eps(null) + s_text * (eps(text) - eps(null)) + s_emotion * (eps(text, emotion) - eps(text))

The three predictions weigh (1 - s_text), (s_text - s_emotion) and s_emotion, and a prediction that
weighs 0 is not computed: the default s_emotion = s_text is ordinary classifier-free guidance on
text + emotion (two UNet passes per step, as in Stable Diffusion), s_text = s_emotion = 1 takes one,
and only s_emotion != s_text takes three.

``vae`` may be None: the UNet then denoises pixels directly (the small shipped models do).

Optionally a differentiable emotion scorer steers every step (classifier guidance, `scorer_guide`):

    eps <- eps + s_scorer * sqrt(1 - alpha_bar_t) * d loss(decode(x0_hat)) / d x_t
"""
from __future__ import annotations

import inspect
import logging
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, UNet2DConditionModel
from diffusers.image_processor import VaeImageProcessor
from diffusers.schedulers import KarrasDiffusionSchedulers
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor
from transformers import CLIPTextModel, CLIPTokenizer

from emogen.emotion import Emotion
from emogen.emotion.encoder import emotion_features
from emogen.errors import EmotionError
from emogen.image.adapter import EmotionAdapter

logger = logging.getLogger(__name__)

# Guidance branches in batch order; the first two are Stable Diffusion's [uncond, text] when the emotion
# rides on the text branch (s_emotion == s_text).
BRANCHES = ("uncond", "text", "text_emotion")
OUTPUT_TYPES = ("pil", "np", "pt", "latent")
# What the UNet may predict for scorer guidance to turn it into the noise eps and back.
GUIDED_PREDICTION_TYPES = ("epsilon", "v_prediction")

EmotionSpec = str | Mapping | Emotion


@dataclass
class EmotionImagePipelineOutput(BaseOutput):
    """``images``: PIL images, an array [N, H, W, 3] in [0, 1], a tensor [N, 3, H, W] in [0, 1], or latents;
    ``emotions``: the parsed emotion of each image (for sidecar metadata)."""

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    emotions: list[Emotion]


def check_scale(name: str, value) -> float:
    """A guidance or conditioning scale: a finite number >= 0, or EmotionError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise EmotionError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


class EmotionDiffusionPipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->emotion_adapter->unet->vae"
    _optional_components = ["vae", "emotion_adapter"]

    def __init__(
        self,
        unet: UNet2DConditionModel,
        vae: AutoencoderKL | None,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        scheduler: KarrasDiffusionSchedulers,
        emotion_adapter: EmotionAdapter | None = None,
    ):
        super().__init__()
        if emotion_adapter is None:
            # A stock Stable Diffusion folder: run it unchanged until an adapter is trained for it.
            emotion_adapter = EmotionAdapter.for_unet(unet).to(unet.device)
            logger.warning(
                "no emotion_adapter in this model: created a fresh %r adapter; emotions change nothing until "
                "it is trained", emotion_adapter.config.mode,
            )
        emotion_adapter.check_unet(unet)
        self.register_modules(
            unet=unet,
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            scheduler=scheduler,
            emotion_adapter=emotion_adapter,
        )
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 1
        self.image_processor = VaeImageProcessor(vae_scale_factor=self.vae_scale_factor)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        emotion: EmotionSpec | Sequence[EmotionSpec],
        emotion_scale: float = 1.0,
        guidance_scale: float = 7.5,
        emotion_guidance_scale: float | None = None,
        num_inference_steps: int = 50,
        generator: torch.Generator | list[torch.Generator] | None = None,
        seed: int | None = None,
        negative_prompt: str | list[str] | None = None,
        height: int | None = None,
        width: int | None = None,
        num_images_per_prompt: int = 1,
        eta: float = 0.0,
        output_type: str = "pil",
        return_dict: bool = True,
        callback: Callable[[int, int], None] | None = None,
        scorer_guidance: Callable[[torch.Tensor], torch.Tensor] | None = None,
        scorer_guidance_scale: float = 0.0,
    ) -> EmotionImagePipelineOutput | tuple:
        """Generate ``num_images_per_prompt`` images for each prompt, each with its emotion.

        Args:
            prompt: one prompt or a list.
            emotion: one emotion spec ("joy:0.8", "0.6 joy + 0.4 surprise", "v=0.7,a=0.4", an Emotion, a
                mapping) for every prompt, or one per prompt.
            emotion_scale: how far the emotion conditioning goes, from none (0) to as trained (1) and beyond.
                It has no effect in the adapter's "prompt_word" mode (the words are either there or not).
            guidance_scale: s_text, the text guidance.
            emotion_guidance_scale: s_emotion, the emotion guidance; None: the same as guidance_scale.
            generator / seed: the noise; a seed makes a CPU generator (the same image on every device).
            negative_prompt: the unconditional branch's text (default "").
            height / width: in pixels; multiples of the VAE's downsampling factor.
            eta: DDIM's eta (ignored by other schedulers).
            output_type: "pil", "np", "pt" or "latent".
            callback: called as ``callback(step, num_steps)`` after every denoising step.
            scorer_guidance: a differentiable loss of the predicted clean images, [B, 3, H, W] floats in
                [-1, 1] (not clamped, so that every pixel gets a gradient) -> per-image loss [B]; lower is
                closer to the target (see `emogen.image.verifier.scorer_guidance_loss`).
            scorer_guidance_scale: how hard that loss steers each step (0: not at all, the loss is not
                even computed). Each step then also decodes through the VAE with gradients: slower.

        Returns:
            `EmotionImagePipelineOutput`, or with ``return_dict=False`` the tuple (images, emotions).
        """
        # 0. Defaults, as in Stable Diffusion.
        sample_size = self.unet.config.sample_size
        sample_height, sample_width = (sample_size, sample_size) if isinstance(sample_size, int) else sample_size
        height = sample_height * self.vae_scale_factor if height is None else height
        width = sample_width * self.vae_scale_factor if width is None else width
        if emotion_guidance_scale is None:
            emotion_guidance_scale = guidance_scale

        # 1. Check inputs.
        prompts, negative_prompts, emotions = self.check_inputs(
            prompt, emotion, negative_prompt, height, width, num_inference_steps, emotion_scale, guidance_scale,
            emotion_guidance_scale, num_images_per_prompt, output_type, generator, seed,
            scorer_guidance, scorer_guidance_scale,
        )
        if seed is not None:
            generator = torch.Generator("cpu").manual_seed(seed)
        device = self._execution_device
        branches = self.guidance_branches(guidance_scale, emotion_guidance_scale)
        batch_size = len(prompts) * num_images_per_prompt

        # 2. Encode the text of each guidance branch, then add the emotion.
        texts = {
            "uncond": negative_prompts,
            "text": prompts,
            "text_emotion": self.emotion_adapter.emotion_prompts(prompts, emotions),
        }
        prompt_embeds = self.encode_branches({branch: texts[branch] for branch in branches}, device, num_images_per_prompt)
        encoder_hidden_states, class_labels = self.emotion_adapter.condition(
            torch.cat([prompt_embeds[branch] for branch in branches]),
            emotion_features(emotions).repeat_interleave(num_images_per_prompt, dim=0).repeat(len(branches), 1),
            drop_mask=torch.tensor([branch != "text_emotion" for branch in branches]).repeat_interleave(batch_size),
            scale=emotion_scale,
        )

        # 3. Timesteps and initial noise.
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        latents = self.prepare_latents(batch_size, height, width, encoder_hidden_states.dtype, device, generator)
        extra_step_kwargs = self.prepare_extra_step_kwargs(generator, eta)

        # 4. Denoising loop.
        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for step, timestep in enumerate(timesteps):
                model_input = self.scheduler.scale_model_input(torch.cat([latents] * len(branches)), timestep)
                noise = self.unet(
                    model_input,
                    timestep,
                    encoder_hidden_states=encoder_hidden_states,
                    class_labels=class_labels,
                    return_dict=False,
                )[0]
                noise_pred = self.guide(
                    dict(zip(branches, noise.chunk(len(branches)))), guidance_scale, emotion_guidance_scale
                )
                if scorer_guidance is not None and scorer_guidance_scale > 0:
                    noise_pred = self.scorer_guide(latents, timestep, noise_pred, scorer_guidance, scorer_guidance_scale)
                latents = self.scheduler.step(noise_pred, timestep, latents, **extra_step_kwargs, return_dict=False)[0]
                progress_bar.update()
                if callback is not None:
                    callback(step + 1, len(timesteps))

        # 5. Decode.
        images = self.decode_latents(latents, output_type)
        self.maybe_free_model_hooks()
        emotions_per_image = [e for e in emotions for _ in range(num_images_per_prompt)]
        if not return_dict:
            return images, emotions_per_image
        return EmotionImagePipelineOutput(images=images, emotions=emotions_per_image)

    def check_inputs(
        self,
        prompt,
        emotion,
        negative_prompt,
        height,
        width,
        num_inference_steps,
        emotion_scale,
        guidance_scale,
        emotion_guidance_scale,
        num_images_per_prompt,
        output_type,
        generator,
        seed,
        scorer_guidance=None,
        scorer_guidance_scale=0.0,
    ) -> tuple[list[str], list[str], list[Emotion]]:
        """Raise EmotionError naming the first bad argument; else (prompts, negative prompts, emotions),
        one of each per prompt."""
        prompts = _text_list("prompt", prompt)
        if not prompts:
            raise EmotionError("prompt must be a string or a non-empty list of strings, got []")
        for text in prompts:
            if not text.strip():
                raise EmotionError(f"prompt must not be empty, got {text!r}")
        if negative_prompt is None:
            negative_prompts = [""] * len(prompts)
        elif isinstance(negative_prompt, str):
            negative_prompts = [negative_prompt] * len(prompts)
        else:
            negative_prompts = _text_list("negative_prompt", negative_prompt)
            if len(negative_prompts) != len(prompts):
                raise EmotionError(
                    f"negative_prompt has {len(negative_prompts)} entries for {len(prompts)} prompts; give one or one per prompt"
                )

        specs = list(emotion) if isinstance(emotion, (list, tuple)) else [emotion] * len(prompts)
        if len(specs) != len(prompts):
            raise EmotionError(f"emotion has {len(specs)} entries for {len(prompts)} prompts; give one or one per prompt")
        emotions = []
        for spec in specs:
            try:
                emotions.append(Emotion.parse(spec))
            except EmotionError as err:
                raise EmotionError(f"emotion: {err}") from None

        limit = self.tokenizer.model_max_length
        encoded = self.emotion_adapter.emotion_prompts(prompts, emotions) + negative_prompts
        for name, text in zip(["prompt"] * len(prompts) + ["negative_prompt"] * len(prompts), encoded):
            length = len(self.tokenizer(text).input_ids)
            if length > limit:
                raise EmotionError(f"{name} is {length} tokens long, the text encoder takes at most {limit}: {text!r}")

        for name, value in (("num_inference_steps", num_inference_steps), ("num_images_per_prompt", num_images_per_prompt)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise EmotionError(f"{name} must be a positive integer, got {value!r}")
        for name, value in (("height", height), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value % self.vae_scale_factor:
                raise EmotionError(f"{name} must be a positive multiple of {self.vae_scale_factor} pixels, got {value!r}")
        for name, value in (
            ("emotion_scale", emotion_scale),
            ("guidance_scale", guidance_scale),
            ("emotion_guidance_scale", emotion_guidance_scale),
            ("scorer_guidance_scale", scorer_guidance_scale),
        ):
            check_scale(name, value)
        if scorer_guidance is not None and not callable(scorer_guidance):
            raise EmotionError(f"scorer_guidance must be a function of the images or None, got {scorer_guidance!r}")
        if scorer_guidance is None and scorer_guidance_scale > 0:
            raise EmotionError(f"scorer_guidance_scale {scorer_guidance_scale!r} needs a scorer_guidance loss function")
        if scorer_guidance_scale > 0:
            if getattr(self.scheduler, "alphas_cumprod", None) is None:
                raise EmotionError(
                    f"scorer guidance needs a scheduler with alphas_cumprod; {type(self.scheduler).__name__} has none"
                )
            if self.scheduler.config.prediction_type not in GUIDED_PREDICTION_TYPES:
                raise EmotionError(
                    f"scorer guidance works with prediction_type {' or '.join(GUIDED_PREDICTION_TYPES)}; this "
                    f"scheduler predicts {self.scheduler.config.prediction_type!r}"
                )
        if output_type not in OUTPUT_TYPES:
            raise EmotionError(f"output_type must be one of {', '.join(OUTPUT_TYPES)}; got {output_type!r}")
        if generator is not None and seed is not None:
            raise EmotionError("give generator or seed, not both")
        if isinstance(generator, list) and len(generator) != len(prompts) * num_images_per_prompt:
            raise EmotionError(
                f"generator: {len(generator)} generators for {len(prompts) * num_images_per_prompt} images"
            )
        return prompts, negative_prompts, emotions

    @staticmethod
    def guidance_branches(guidance_scale: float, emotion_guidance_scale: float) -> list[str]:
        """The branches whose prediction weighs something: uncond (1 - s_text), text (s_text - s_emotion),
        text_emotion (s_emotion)."""
        weights = {
            "uncond": 1.0 - guidance_scale,
            "text": guidance_scale - emotion_guidance_scale,
            "text_emotion": emotion_guidance_scale,
        }
        return [branch for branch in BRANCHES if weights[branch] != 0]

    @staticmethod
    def guide(noise: dict[str, torch.Tensor], guidance_scale: float, emotion_guidance_scale: float) -> torch.Tensor:
        """eps(null) + s_text (eps(text) - eps(null)) + s_emotion (eps(text, emotion) - eps(text)).

        A branch not in ``noise`` weighs 0, and standing a computed branch in for it makes its terms
        exactly 0: text (s_text == s_emotion) by text_emotion, text_emotion (s_emotion == 0) and uncond
        (s_text == 1) by text. So s_emotion == s_text gives Stable Diffusion's expression, bit for bit.
        """
        text = noise.get("text", noise.get("text_emotion", noise.get("uncond")))
        text_emotion = noise.get("text_emotion", text)
        uncond = noise.get("uncond", text)
        return uncond + guidance_scale * (text - uncond) + emotion_guidance_scale * (text_emotion - text)

    def scorer_guide(
        self,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        noise_pred: torch.Tensor,
        loss_fn: Callable[[torch.Tensor], torch.Tensor],
        scale: float,
    ) -> torch.Tensor:
        """Classifier guidance by a differentiable scorer: the guided prediction, shifted down the loss.

        x0_hat = (x_t - sqrt(1 - a) eps) / sqrt(a) is the clean image the step is heading for (a =
        alpha_bar_t). Holding eps constant (as universal guidance does: back-propagating through the
        UNet would cost a second UNet pass per step for little gain), dx0_hat/dx_t = 1/sqrt(a). Since eps
        = -sqrt(1 - a) * score, moving the score up log p(target | x_t) = -loss moves eps by
        +sqrt(1 - a) * grad_x_t loss. x_t is the UNet's (scaled) input, the variance-preserving sample
        that alphas_cumprod describes, also for Euler-type schedulers whose latents carry sigma.
        """
        alpha_bar = self._alpha_bar(timestep).to(latents.device)
        sqrt_alpha, sqrt_one_minus = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        v_prediction = self.scheduler.config.prediction_type == "v_prediction"
        with torch.enable_grad():
            sample = self.scheduler.scale_model_input(latents, timestep).detach().float().requires_grad_(True)
            eps = noise_pred.detach().float()
            if v_prediction:  # v = sqrt(a) eps - sqrt(1 - a) x0  =>  eps = sqrt(a) v + sqrt(1 - a) x_t
                eps = sqrt_alpha * eps + sqrt_one_minus * sample.detach()
            clean = (sample - sqrt_one_minus * eps) / sqrt_alpha
            if self.vae is not None:
                clean = self.vae.decode((clean / self.vae.config.scaling_factor).to(self.vae.dtype), return_dict=False)[0]
            loss = loss_fn(clean.float())
            if loss.shape != (len(latents),):
                raise EmotionError(
                    f"scorer_guidance must return one loss per image, shape ({len(latents)},); got {tuple(loss.shape)}"
                )
            (grad,) = torch.autograd.grad(loss.sum(), sample)
        shift = scale * sqrt_one_minus * grad
        if v_prediction:  # the same move of eps, written as a move of v (x_t held)
            shift = shift / sqrt_alpha
        return noise_pred + shift.to(noise_pred.dtype)

    def _alpha_bar(self, timestep: torch.Tensor) -> torch.Tensor:
        """alpha_bar at ``timestep``; a fractional timestep (some Euler spacings) takes the nearest."""
        alphas_cumprod = self.scheduler.alphas_cumprod
        index = min(max(int(round(float(timestep))), 0), len(alphas_cumprod) - 1)
        return alphas_cumprod[index].float()

    def encode_branches(self, texts: dict[str, list[str]], device, num_images_per_prompt: int) -> dict[str, torch.Tensor]:
        """Prompt embeddings per branch; branches with the same texts share one text-encoder pass."""
        encoded: dict[tuple[str, ...], torch.Tensor] = {}
        for branch_texts in texts.values():
            if tuple(branch_texts) not in encoded:
                encoded[tuple(branch_texts)] = self.encode_prompt(branch_texts, device, num_images_per_prompt)
        return {branch: encoded[tuple(branch_texts)] for branch, branch_texts in texts.items()}

    def encode_prompt(self, prompts: list[str], device, num_images_per_prompt: int) -> torch.Tensor:
        """Text encoder hidden states [len(prompts) * num_images_per_prompt, max_length, width] (as Stable Diffusion)."""
        text_inputs = self.tokenizer(
            prompts, padding="max_length", max_length=self.tokenizer.model_max_length, truncation=True, return_tensors="pt"
        )
        attention_mask = None
        if getattr(self.text_encoder.config, "use_attention_mask", False):
            attention_mask = text_inputs.attention_mask.to(device)
        prompt_embeds = self.text_encoder(text_inputs.input_ids.to(device), attention_mask=attention_mask)[0]
        prompt_embeds = prompt_embeds.to(dtype=self.text_encoder.dtype, device=device)
        return prompt_embeds.repeat_interleave(num_images_per_prompt, dim=0)

    def prepare_latents(self, batch_size: int, height: int, width: int, dtype, device, generator) -> torch.Tensor:
        shape = (batch_size, self.unet.config.in_channels, height // self.vae_scale_factor, width // self.vae_scale_factor)
        latents = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        return latents * self.scheduler.init_noise_sigma

    def prepare_extra_step_kwargs(self, generator, eta: float) -> dict:
        """eta and generator for schedulers whose ``step`` takes them."""
        accepted = inspect.signature(self.scheduler.step).parameters
        return {name: value for name, value in (("eta", eta), ("generator", generator)) if name in accepted}

    def decode_latents(self, latents: torch.Tensor, output_type: str):
        if output_type == "latent":
            return latents
        if self.vae is None:
            image = latents
        else:
            image = self.vae.decode(latents / self.vae.config.scaling_factor, return_dict=False)[0]
        return self.image_processor.postprocess(image, output_type=output_type)


def _text_list(name: str, value) -> list[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, (list, tuple)) or not all(isinstance(text, str) for text in texts):
        raise EmotionError(f"{name} must be a string or a list of strings, got {value!r}")
    return list(texts)
