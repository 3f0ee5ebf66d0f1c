"""`EmotionVideoPipeline`: text (+ an optional still) + an emotion arc -> a clip whose every frame has its emotion.

It is diffusers' AnimateDiff (a text-to-image UNet + motion modules, `UNetMotionModel`) with the image
pipeline's emotion adapter. It inherits from `EmotionDiffusionPipeline` what the two share: input
checks, prompt encoding, the two-condition guidance (text, emotion) and its branch selection, and
the scheduler's extra arguments. What is new reads top to bottom in ``__call__``:

    check inputs -> sample the arc at the clip's frame times (one Emotion per frame)
    -> encode the prompt per guidance branch, then condition every frame on its own emotion
       (the UNet takes one context row per frame) -> initial latents -> denoising loop -> decode.

Image-to-video (``image=``) starts SDEdit-style: every frame begins as the still, noised to the level
``strength`` says (0: the still itself, 1: pure noise, the still forgotten), so the clip keeps the
still's identity and composition while the emotion arc changes the face. ``anchor_first_frame=True``
also pins frame 0 to the still at every step (re-noised to the current level), so the clip starts
exactly at the given image and the motion modules carry its identity forward.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import PIL.Image
import torch
from diffusers import AutoencoderKL, DiffusionPipeline, MotionAdapter, UNet2DConditionModel, UNetMotionModel
from diffusers.schedulers import KarrasDiffusionSchedulers
from diffusers.utils import BaseOutput
from PIL import ImageOps
from transformers import CLIPTextModel, CLIPTokenizer

from emogen.emotion import Emotion, EmotionArc
from emogen.emotion.encoder import emotion_features
from emogen.errors import EmotionError
from emogen.image.adapter import EmotionAdapter
from emogen.image.pipeline import EmotionDiffusionPipeline, EmotionSpec
from emogen.video.clip import check_arc_fits, check_frame_count
from emogen.video.noise import check_noise_correlation, frame_correlated_noise, scheduler_step
from emogen.video.unet import motion_unet
from emogen.videofile import check_fps

ArcSpec = EmotionSpec | EmotionArc


@dataclass
class EmotionVideoPipelineOutput(BaseOutput):
    """``frames``: [F, H, W, 3] floats in [0, 1] ("np"), [F, 3, H, W] ("pt"), F PIL images ("pil") or the
    latents [1, C, F, h, w] ("latent"); ``emotions`` / ``times``: each frame's target emotion and time (s)."""

    frames: np.ndarray | torch.Tensor | list[PIL.Image.Image]
    emotions: list[Emotion]
    times: list[float]


class EmotionVideoPipeline(EmotionDiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->emotion_adapter->unet->vae"
    _optional_components = ["vae", "emotion_adapter", "motion_adapter"]

    def __init__(
        self,
        unet: UNetMotionModel | UNet2DConditionModel,
        vae: AutoencoderKL | None,
        text_encoder: CLIPTextModel,
        tokenizer: CLIPTokenizer,
        scheduler: KarrasDiffusionSchedulers,
        emotion_adapter: EmotionAdapter | None = None,
        motion_adapter: MotionAdapter | None = None,
        noise_correlation: float = 0.0,
    ):
        DiffusionPipeline.__init__(self)
        if isinstance(unet, UNet2DConditionModel):
            if emotion_adapter is not None:
                emotion_adapter.check_unet(unet)
            # As AnimateDiffPipeline does: an image UNet + a motion adapter (a fresh one if none) become one
            # motion UNet, which then holds the motion modules; the adapter is not kept twice.
            unet = motion_unet(unet, motion_adapter)
        if emotion_adapter is None:
            emotion_adapter = EmotionAdapter(mode="residual", token_dim=unet.config.cross_attention_dim).to(unet.device)
        check_adapter(emotion_adapter, unet)
        self.register_modules(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                              scheduler=scheduler, emotion_adapter=emotion_adapter, motion_adapter=None)
        # How the motion modules were trained (emogen.video.noise); saved in model_index.json, so a
        # loaded model samples with the noise it learned on.
        self.register_to_config(noise_correlation=check_noise_correlation(noise_correlation))
        self.vae_scale_factor = 2 ** (len(vae.config.block_out_channels) - 1) if vae is not None else 1

    @property
    def max_frames(self) -> int:
        """The motion modules' positional embeddings cover this many frames."""
        return int(self.unet.config.motion_max_seq_length)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str,
        emotion: ArcSpec,
        num_frames: int = 16,
        fps: float = 8.0,
        image: PIL.Image.Image | np.ndarray | None = None,
        strength: float = 0.6,
        anchor_first_frame: bool = False,
        emotion_scale: float = 1.0,
        guidance_scale: float = 7.5,
        emotion_guidance_scale: float | None = None,
        num_inference_steps: int = 25,
        generator: torch.Generator | None = None,
        seed: int | None = None,
        negative_prompt: str | None = None,
        height: int | None = None,
        width: int | None = None,
        eta: float = 0.0,
        noise_correlation: float | None = None,
        output_type: str = "np",
        return_dict: bool = True,
        callback: Callable[[int, int], None] | None = None,
    ) -> EmotionVideoPipelineOutput | tuple:
        """Generate one clip of ``num_frames`` frames at ``fps`` following the arc ``emotion``.

        Args:
            prompt: the text (one clip per call).
            emotion: an arc ("joy@0 -> sadness@1.5", seconds) or one emotion for the whole clip. Its last
                keyframe must fall on or before the last frame, (num_frames - 1) / fps seconds.
            image: a still to animate (image-to-video); None: text-to-video.
            strength: image-to-video only: how much of the still is noised away (0..1).
            anchor_first_frame: image-to-video only: frame 0 stays the still.
            noise_correlation: how much of every frame's noise is shared (emogen.video.noise); None:
                what the model was trained with (``self.config.noise_correlation``).
            The rest as `EmotionDiffusionPipeline.__call__`.

        Returns:
            `EmotionVideoPipelineOutput`, or with ``return_dict=False`` (frames, emotions, times).
        """
        sample_size = self.unet.config.sample_size
        sample_size = sample_size if isinstance(sample_size, int) else sample_size[0]
        height = sample_size * self.vae_scale_factor if height is None else height
        width = sample_size * self.vae_scale_factor if width is None else width
        if emotion_guidance_scale is None:
            emotion_guidance_scale = guidance_scale

        # 1. Check inputs; one target emotion per frame.
        arc, times = self.check_clip(emotion, num_frames, fps)
        frame_emotions = [arc.at(float(t)) for t in times]
        still = self.check_still(image, strength, anchor_first_frame, height, width)
        correlation = check_noise_correlation(
            self.config.noise_correlation if noise_correlation is None else noise_correlation)
        for name, value in (("prompt", prompt), ("negative_prompt", negative_prompt)):
            if not isinstance(value, str) and not (name == "negative_prompt" and value is None):
                raise EmotionError(f"{name} must be one string (one clip per call), got {value!r}")
        # The image pipeline's checks, on one (prompt, emotion) pair per frame.
        prompts, negative_prompts, _ = self.check_inputs(
            [prompt] * num_frames, frame_emotions,
            None if negative_prompt is None else [negative_prompt] * num_frames, height, width, num_inference_steps,
            emotion_scale, guidance_scale, emotion_guidance_scale, 1, output_type, generator, seed,
        )
        if seed is not None:
            generator = torch.Generator("cpu").manual_seed(seed)
        device = self._execution_device
        branches = self.guidance_branches(guidance_scale, emotion_guidance_scale)

        # 2. The context of every frame in every branch: the branch's text, then the frame's emotion.
        encoder_hidden_states = self.encode_frames(prompts[0], negative_prompts[0], frame_emotions, branches,
                                                   emotion_scale, device)

        # 3. Timesteps and initial latents (noise, or the noised still).
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        shape = (1, self.unet.config.in_channels, num_frames, height // self.vae_scale_factor,
                 width // self.vae_scale_factor)
        noise = frame_correlated_noise(shape, correlation, generator, device, encoder_hidden_states.dtype)
        still_latents = None
        if still is None:
            latents = noise * self.scheduler.init_noise_sigma
        else:
            timesteps = self.strength_timesteps(num_inference_steps, strength)
            still_latents = self.encode_still(still, device, encoder_hidden_states.dtype)[:, :, None]
            still_latents = still_latents.expand(shape).contiguous()
            latents = still_latents if len(timesteps) == 0 else self.scheduler.add_noise(still_latents, noise, timesteps[:1])
        extra_step_kwargs = self.prepare_extra_step_kwargs(generator, eta)

        # 4. Denoising loop.
        with self.progress_bar(total=len(timesteps)) as progress_bar:
            for step, timestep in enumerate(timesteps):
                model_input = self.scheduler.scale_model_input(torch.cat([latents] * len(branches)), timestep)
                prediction = self.unet(model_input, timestep, encoder_hidden_states=encoder_hidden_states,
                                       return_dict=False)[0]
                noise_pred = self.guide(dict(zip(branches, prediction.chunk(len(branches)))), guidance_scale,
                                        emotion_guidance_scale)
                latents = scheduler_step(self.scheduler, noise_pred, timestep, latents, correlation, generator,
                                         extra_step_kwargs)
                if anchor_first_frame and still_latents is not None:
                    latents[:, :, 0] = self.anchor(still_latents[:, :, 0], noise[:, :, 0], timesteps, step + 1)
                progress_bar.update()
                if callback is not None:
                    callback(step + 1, len(timesteps))

        # 5. Decode.
        frames = self.decode_frames(latents, output_type)
        self.maybe_free_model_hooks()
        times = [float(t) for t in times]
        if not return_dict:
            return frames, frame_emotions, times
        return EmotionVideoPipelineOutput(frames=frames, emotions=frame_emotions, times=times)

    # ----- checks ----------------------------------------------------------------------------------------

    def check_clip(self, emotion: ArcSpec, num_frames: int, fps: float) -> tuple[EmotionArc, np.ndarray]:
        """(the arc, the frame times) or EmotionError naming the frame count, fps or arc."""
        check_frame_count(num_frames, self.max_frames, "num_frames")  # what this model's motion modules cover
        fps = check_fps(fps)
        try:
            arc = EmotionArc.parse(emotion)
        except EmotionError as err:
            raise EmotionError(f"emotion: {err}") from None
        times = arc.frame_times(fps, frames=num_frames)
        check_arc_fits(arc, num_frames, fps)
        return arc, times

    def check_still(self, image, strength, anchor_first_frame, height: int, width: int) -> PIL.Image.Image | None:
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0.0 <= strength <= 1.0:
            raise EmotionError(f"strength must be a number in [0, 1], got {strength!r}")
        if image is None:
            if anchor_first_frame:
                raise EmotionError("anchor_first_frame needs an image to anchor to (image-to-video)")
            return None
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
                raise EmotionError(f"image must be an RGB(A) uint8 array [H, W, 3], got {image.dtype} {image.shape}")
            image = PIL.Image.fromarray(image)
        if not isinstance(image, PIL.Image.Image):
            raise EmotionError(f"image must be a PIL image or an RGB uint8 array, got {type(image).__name__}")
        # Centre-cropped to the clip's aspect ratio, then resized: what the user sees is what is animated.
        return ImageOps.fit(image.convert("RGB"), (width, height), PIL.Image.Resampling.BICUBIC)

    # ----- conditioning ----------------------------------------------------------------------------------

    def encode_frames(self, prompt: str, negative_prompt: str, frame_emotions: Sequence[Emotion],
                      branches: list[str], emotion_scale: float, device) -> torch.Tensor:
        """encoder_hidden_states [branches * frames, tokens, dim], branch-major as the UNet's batch is."""
        num_frames = len(frame_emotions)
        texts = {
            "uncond": [negative_prompt],
            "text": [prompt],
            # one text per frame: the prompt_word baseline writes each frame's own emotion words
            "text_emotion": self.emotion_adapter.emotion_prompts([prompt] * num_frames, frame_emotions),
        }
        embeds = self.encode_branches({branch: texts[branch] for branch in branches}, device, 1)
        prompt_embeds = torch.cat([embeds[branch].expand(num_frames, -1, -1) if len(embeds[branch]) == 1
                                   else embeds[branch] for branch in branches])
        hidden_states, class_labels = self.emotion_adapter.condition(
            prompt_embeds,
            emotion_features(frame_emotions).repeat(len(branches), 1),
            drop_mask=torch.tensor([branch != "text_emotion" for branch in branches]).repeat_interleave(num_frames),
            scale=emotion_scale,
        )
        return hidden_states

    # ----- latents ---------------------------------------------------------------------------------------

    def strength_timesteps(self, num_inference_steps: int, strength: float) -> torch.Tensor:
        """The last ``strength`` share of the schedule (img2img's rule)."""
        init_steps = min(int(num_inference_steps * strength), num_inference_steps)
        start = (num_inference_steps - init_steps) * self.scheduler.order
        if hasattr(self.scheduler, "set_begin_index"):
            self.scheduler.set_begin_index(start)
        return self.scheduler.timesteps[start:]

    def encode_still(self, still: PIL.Image.Image, device, dtype) -> torch.Tensor:
        pixels = torch.from_numpy(np.asarray(still, dtype=np.float32).copy()).permute(2, 0, 1)[None] / 127.5 - 1.0
        pixels = pixels.to(device, dtype)
        if self.vae is None:
            return pixels
        # The posterior mean: the still itself, not a sample around it.
        return self.vae.encode(pixels).latent_dist.mode() * self.vae.config.scaling_factor

    def anchor(self, still: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor, next_step: int) -> torch.Tensor:
        """Frame 0 at the noise level of the next step (the still itself after the last)."""
        if next_step >= len(timesteps):
            return still
        return self.scheduler.add_noise(still, noise, timesteps[next_step : next_step + 1])

    def decode_frames(self, latents: torch.Tensor, output_type: str):
        if output_type == "latent":
            return latents
        batch, channels, num_frames, height, width = latents.shape
        flat = latents.permute(0, 2, 1, 3, 4).reshape(batch * num_frames, channels, height, width)
        if self.vae is not None:
            flat = torch.cat([self.vae.decode(chunk / self.vae.config.scaling_factor, return_dict=False)[0]
                              for chunk in flat.split(8)])
        frames = (flat.float() / 2 + 0.5).clamp(0, 1)
        if output_type == "pt":
            return frames
        array = frames.permute(0, 2, 3, 1).cpu().numpy()
        if output_type == "np":
            return array
        return [PIL.Image.fromarray(frame) for frame in to_uint8(array)]


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """[F, H, W, 3] floats in [0, 1] -> uint8 (rounded)."""
    return np.round(np.clip(frames, 0.0, 1.0) * 255.0).astype(np.uint8)


def check_adapter(adapter: EmotionAdapter, unet: UNetMotionModel) -> None:
    """The motion UNet has no class embedding, so the class_labels baseline has nowhere to go."""
    mode, width = adapter.config.mode, adapter.config.token_dim
    if mode == "class_labels":
        raise EmotionError("adapter mode 'class_labels' needs a class embedding, which UNetMotionModel lacks; "
                           "use residual, tokens, both or prompt_word")
    if mode != "prompt_word" and unet.config.cross_attention_dim != width:
        raise EmotionError(
            f"adapter token_dim {width} does not match the UNet's cross_attention_dim {unet.config.cross_attention_dim}"
        )
