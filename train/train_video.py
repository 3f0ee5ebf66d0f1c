"""Train emotion-conditioned video (emogen.video.EmotionVideoPipeline): motion modules (+ the emotion adapter).

    accelerate launch [--config_file train/configs/accelerate/X.yaml] train/train_video.py \\
        --config train/configs/video_emofaces.yaml [--key value ...]

AnimateDiff's recipe: the spatial UNet of a trained image model stays frozen and the motion modules
between its blocks learn how frames follow each other; here the emotion adapter trains with them
(``train_adapter``), each frame conditioned on its own emotion from the clip's arc. The data are
EmoFaces clips: an identity, an emotion arc with transitions (often between opposite emotions),
blinks and head motion.

It is the image trainer's loop (train/train_image.py, whose pieces it imports): config file + CLI
overrides, gradient accumulation, mixed precision, two condition dropouts (text, emotion) for the
two-condition guidance, EMA, ``checkpoint-N`` with rotation, ``--resume_from_checkpoint latest``
restoring motion modules, adapter, EMA, optimizer, LR scheduler, RNG and the data position (the step
count: the clip stream is a deterministic function of it), DDP-safe (one prepared module, every
trained parameter used in every step), and validation every ``validation_steps``: held-out clips along
arcs between opposite emotions, scored frame by frame by the EmoFaces scorer (valence / arousal CCC,
end-state accuracy, flicker ratio and identity consistency; emogen.video.metrics), logged to TensorBoard.

The model is ``image_model`` (an emogen image pipeline folder: its UNet, text encoder, tokenizer,
scheduler and emotion adapter, with fresh zero-output motion modules) or ``video_model`` (a video
pipeline folder to train further).
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers import DDPMScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))  # train_image, beside this script
from train_image import (  # noqa: E402  (after the path it is found on)
    check_in_sync,
    ema_weights,
    make_optimizer,
    run_training,
    write_sampling_settings,
)

from emogen import training  # noqa: E402
from emogen.errors import EmotionError  # noqa: E402
from emogen.image.loading import save_pipeline  # noqa: E402
from emogen.image.pipeline import check_scale  # noqa: E402
from emogen.video.data import EmoFacesCaptionedClips  # noqa: E402
from emogen.video.loading import load_video_pipeline  # noqa: E402
from emogen.video.noise import check_noise_correlation  # noqa: E402
from emogen.video.pipeline import EmotionVideoPipeline  # noqa: E402
from emogen.video.unet import motion_parameters  # noqa: E402

LEARNED_ADAPTER_MODES = ("residual", "tokens", "both")


@dataclass
class VideoTrainConfig:
    output_dir: str = "checkpoints/emofaces-video"
    seed: int = 0
    # model: an image model to animate, or a video model to train further
    image_model: str | None = "checkpoints/emofaces-image"
    video_model: str | None = None
    motion_num_attention_heads: int = 4
    motion_max_seq_length: int = 32
    train_adapter: bool = True  # also train the emotion adapter (else the motion modules only)
    # share of every frame's noise common to the whole clip (emogen.video.noise; PYoCo's mixed noise);
    # saved with the model, which samples with it unless told otherwise
    noise_correlation: float = 0.0
    # data: EmoFaces clips of fps * duration + 1 frames
    resolution: int = 64
    clip_fps: float = 4.0
    clip_duration: float = 3.75
    dataloader_num_workers: int = 1
    torch_threads: int = 0  # 0: torch's default
    # classifier-free guidance: each condition dropped independently (per clip)
    text_dropout: float = 0.1
    emotion_dropout: float = 0.15
    # optimisation
    train_batch_size: int = 2  # clips per process
    gradient_accumulation_steps: int = 1
    max_train_steps: int = 1000
    learning_rate: float = 5e-4
    lr_scheduler: str = "constant_with_warmup"
    lr_warmup_steps: int = 50
    adam_weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"  # no | fp16 | bf16
    gradient_checkpointing: bool = False
    use_ema: bool = True
    ema_decay: float = 0.99
    # checkpoints
    checkpointing_steps: int = 50
    checkpoints_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    delete_checkpoints_at_end: bool = False
    logging_steps: int = 10
    # validation during training (main process, EMA weights)
    validation_steps: int = 200  # 0: none
    validation_clips: int = 2
    validation_frames: int = 16
    validation_fps: float = 4.0
    validation_inference_steps: int = 10
    validation_guidance_scale: float = 3.0
    # the noise correlation validation samples with, saved as the model's recommended sampling value
    # (emogen.video.noise: sampling may share more noise than training did); None: noise_correlation
    validation_noise_correlation: float | None = None
    # the emotion scale validation samples with, saved as the model's recommended value (1: as trained)
    validation_emotion_scale: float = 1.0
    validation_scorer: str = "emofaces"  # emofaces | none
    report_to: str = "tensorboard"  # tensorboard | none
    # the result
    save_fp16: bool = True  # the pipeline in half precision only (variant "fp16"): half the size
    # what train_image's shared loss reads; video training has these fixed
    adapter_mode: str = "both"
    snr_gamma: float | None = None

    def check(self) -> None:
        if (self.image_model is None) == (self.video_model is None):
            raise EmotionError("give exactly one of image_model (to animate) and video_model (to train further)")
        choices = {"mixed_precision": ("no", "fp16", "bf16"), "validation_scorer": ("emofaces", "none"),
                   "report_to": ("tensorboard", "none")}
        for name, accepted in choices.items():
            if getattr(self, name) not in accepted:
                raise EmotionError(f"{name} must be one of {', '.join(accepted)}; got {getattr(self, name)!r}")
        check_noise_correlation(self.noise_correlation)
        if self.validation_noise_correlation is not None:
            check_noise_correlation(self.validation_noise_correlation)
        check_scale("validation_emotion_scale", self.validation_emotion_scale)
        if self.snr_gamma is not None:
            raise EmotionError("snr_gamma: min-SNR weighting is not implemented for video; leave it null")
        for name in ("text_dropout", "emotion_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise EmotionError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        frames = self.clip_frames
        if not 2 <= frames <= self.motion_max_seq_length:
            raise EmotionError(f"clip_fps x clip_duration + 1 = {frames} frames; must be in [2, {self.motion_max_seq_length}]")

    @property
    def clip_frames(self) -> int:
        return int(np.floor(self.clip_duration * self.clip_fps + 1e-9)) + 1


# ----- model ---------------------------------------------------------------------------------------------

def load_components(config: VideoTrainConfig) -> dict:
    """unet (a motion UNet), vae, text_encoder, tokenizer, scheduler, emotion_adapter."""
    if config.video_model:
        pipeline = load_video_pipeline(config.video_model)
    else:
        pipeline = load_video_pipeline(config.image_model, motion_num_attention_heads=config.motion_num_attention_heads,
                                       motion_max_seq_length=config.motion_max_seq_length)
    models = {name: getattr(pipeline, name) for name in
              ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "emotion_adapter")}
    if models["vae"] is not None:
        raise EmotionError("train_video.py trains pixel-space models (no VAE) so far; this model has a VAE")
    if models["emotion_adapter"].config.mode not in LEARNED_ADAPTER_MODES:
        raise EmotionError(f"the model's emotion adapter is {models['emotion_adapter'].config.mode!r}; video training "
                           f"needs a learned one: {', '.join(LEARNED_ADAPTER_MODES)}")
    config.adapter_mode = models["emotion_adapter"].config.mode
    return models


def set_trainable(models: dict, config: VideoTrainConfig) -> list[torch.nn.Parameter]:
    """Motion modules (+ adapter) trained; everything else frozen. Returns the trained parameters."""
    for name in ("text_encoder", "unet", "emotion_adapter"):
        models[name].requires_grad_(False)
    trainable = motion_parameters(models["unet"])
    for parameter in trainable:
        parameter.requires_grad_(True)
    if config.train_adapter:
        models["emotion_adapter"].requires_grad_(True)
        trainable = list(models["emotion_adapter"].parameters()) + trainable
    return trainable


class ConditionedMotionUNet(torch.nn.Module):
    """The motion UNet and the emotion adapter as one module (one prepared model for Accelerate and DDP).

    Takes what train_image's shared loss gives: per-clip prompt embeddings [B, L, D], per-frame emotion
    features [B, F, FEATURE_DIM] and a per-clip emotion dropout [B]; the UNet gets one context per frame."""

    def __init__(self, unet, emotion_adapter):
        super().__init__()
        self.unet, self.emotion_adapter = unet, emotion_adapter

    def forward(self, noisy, timesteps, prompt_embeds, features, drop_emotion) -> torch.Tensor:
        frames = noisy.shape[2]
        hidden_states, _ = self.emotion_adapter(prompt_embeds.repeat_interleave(frames, dim=0), features.flatten(0, 1),
                                                drop_emotion.repeat_interleave(frames))
        return self.unet(noisy, timesteps, encoder_hidden_states=hidden_states).sample


def sampling_correlation(config: VideoTrainConfig) -> float:
    """The noise correlation validation samples with and the model recommends."""
    return config.noise_correlation if config.validation_noise_correlation is None else config.validation_noise_correlation


def pipeline_of(models: dict, config: VideoTrainConfig) -> EmotionVideoPipeline:
    pipeline = EmotionVideoPipeline(**{name: models[name] for name in
                                       ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "emotion_adapter")},
                                    noise_correlation=config.noise_correlation)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


# ----- data ----------------------------------------------------------------------------------------------

def make_loader(config: VideoTrainConfig, accelerator: Accelerator, micro_batches_done: int):
    """The clip loader, positioned after ``micro_batches_done`` batches of this run."""
    rank, world = accelerator.process_index, accelerator.num_processes
    dataset = EmoFacesCaptionedClips(config.resolution, split="train", seed=config.seed, fps=config.clip_fps,
                                     duration=config.clip_duration,
                                     start=micro_batches_done * config.train_batch_size * world,
                                     chunk_size=config.train_batch_size, rank=rank, world_size=world)
    return torch.utils.data.DataLoader(dataset, batch_size=config.train_batch_size,
                                       num_workers=config.dataloader_num_workers,
                                       persistent_workers=config.dataloader_num_workers > 0,
                                       generator=torch.Generator().manual_seed(config.seed))


# ----- validation ----------------------------------------------------------------------------------------

def log_validation(models: dict, config: VideoTrainConfig, accelerator: Accelerator, scorer, step: int) -> dict:
    """Generate held-out clips along opposite-emotion arcs, score them frame by frame, log, save a strip."""
    from emogen.image.evaluate import contact_sheet
    from emogen.video.metrics import evaluate_clips, validation_cases

    pipeline = pipeline_of(models, config)
    cases = validation_cases(config.validation_clips, config.validation_frames, config.validation_fps, seed=config.seed + 7)
    call = {"num_inference_steps": config.validation_inference_steps, "guidance_scale": config.validation_guidance_scale,
            "noise_correlation": sampling_correlation(config), "emotion_scale": config.validation_emotion_scale}
    metrics, clips = evaluate_clips(pipeline, scorer, cases, **call)
    from PIL import Image

    sheet = contact_sheet([Image.fromarray(frame) for clip in clips for frame in clip], columns=config.validation_frames)
    folder = Path(config.output_dir) / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    sheet.save(folder / f"step-{step:06d}.png")
    if config.report_to == "tensorboard":
        tracker = accelerator.get_tracker("tensorboard", unwrap=True)
        tracker.add_image("validation/clips", np.asarray(sheet), step, dataformats="HWC")
    accelerator.log({f"validation/{k}": v for k, v in metrics.items() if isinstance(v, float)}, step=step)
    accelerator.print(f"validation step {step}: " + " ".join(f"{k} {v:.3f}" for k, v in metrics.items()
                                                             if isinstance(v, float)))
    return metrics


# ----- saving --------------------------------------------------------------------------------------------

def save_result(models: dict, config: VideoTrainConfig, output_dir: Path) -> None:
    pipeline = pipeline_of(models, config)
    save_pipeline(pipeline, output_dir, config.save_fp16)
    write_sampling_settings(output_dir, config, noise_correlation=sampling_correlation(config),
                            emotion_scale=config.validation_emotion_scale)


# ----- the loop ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    training.run_trainer(VideoTrainConfig, train, argv, __doc__.split("\n")[0], "train_video.py")


def train(config: VideoTrainConfig) -> None:
    output_dir = Path(config.output_dir)
    accelerator = training.make_accelerator(config, output_dir)

    set_seed(config.seed)  # the same fresh motion modules on every process
    models = load_components(config)
    trainable = set_trainable(models, config)
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    models["text_encoder"].to(accelerator.device, dtype=weight_dtype)
    if config.gradient_checkpointing:
        models["unet"].enable_gradient_checkpointing()
    noise_scheduler = DDPMScheduler.from_config(models["scheduler"].config)

    optimizer, lr_scheduler = make_optimizer(config, trainable, accelerator)
    model, optimizer, lr_scheduler = accelerator.prepare(
        ConditionedMotionUNet(models["unet"], models["emotion_adapter"]), optimizer, lr_scheduler)
    def describe(global_step: int) -> str:
        return (f"motion UNet {sum(p.numel() for p in models['unet'].parameters()):,} parameters, trained "
                f"{sum(p.numel() for p in trainable):,} (motion modules{' + adapter' if config.train_adapter else ''}); "
                f"clips of {config.clip_frames} frames; {accelerator.num_processes} process(es) on {accelerator.device}; "
                f"steps {global_step} -> {config.max_train_steps}")

    def validate(global_step: int, ema, scorer) -> None:
        model.eval()
        with ema_weights(ema, trainable):
            log_validation(models, config, accelerator, scorer, global_step)
        model.train()

    train_seconds, ema = run_training(accelerator, config, output_dir, "train_video", model, models, trainable,
                                      optimizer, lr_scheduler, noise_scheduler, weight_dtype, make_loader, describe,
                                      validate, noise_correlation=config.noise_correlation)
    check_in_sync(trainable, accelerator)

    if accelerator.is_main_process:
        if ema is not None:
            ema.copy_to(trainable)
        model.eval()
        save_result(models, config, output_dir)
        facts = run_facts(config, accelerator, models, trainable, train_seconds)
        (output_dir / "train_facts.json").write_text(json.dumps(facts, indent=2) + "\n")
        if config.delete_checkpoints_at_end:
            training.delete_checkpoints(output_dir)
    accelerator.wait_for_everyone()
    accelerator.end_training()


def run_facts(config: VideoTrainConfig, accelerator: Accelerator, models: dict, trainable: list, seconds: float) -> dict:
    """What the model card reports about the run (bench/bench_video.py adds the measured scores)."""
    return {
        "unet_parameters": sum(p.numel() for p in models["unet"].parameters()),
        "trained_parameters": sum(p.numel() for p in trainable),
        "num_processes": accelerator.num_processes,
        "device": str(accelerator.device),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "train_seconds": round(seconds, 1),
        "train_clips": config.max_train_steps * config.train_batch_size * accelerator.num_processes
        * config.gradient_accumulation_steps,
        "clip_frames": config.clip_frames,
        "command": training.launch_command("train/train_video.py", sys.argv[1:], accelerator.num_processes),
        "config": dataclasses.asdict(config),
    }


if __name__ == "__main__":
    main()
