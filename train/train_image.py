"""Fine-tune emotion-conditioned text-to-image diffusion (emogen.image.EmotionDiffusionPipeline).

    accelerate launch [--config_file train/configs/accelerate/X.yaml] train/train_image.py \\
        --config train/configs/image_emofaces.yaml [--key value ...]

Any field of ``ImageTrainConfig`` can be set in the YAML config and overridden on the command line
(values read as YAML). The loop is diffusers' ``train_text_to_image.py`` loop: gradient accumulation,
mixed precision, gradient checkpointing, EMA, min-SNR loss weighting, ``checkpoint-N`` folders with
rotation and ``--resume_from_checkpoint latest``, validation to TensorBoard. What emogen adds:

- the emotion adapter (``adapter_mode``: residual | tokens | both, or the baselines prompt_word |
  class_labels) trained with the UNet (``train_mode: full``), with LoRA on the UNet's attention
  (``lora``), or alone on a frozen model (``adapter``);
- two independent condition dropouts (text, emotion), so the trained model serves the pipeline's
  two-condition classifier-free guidance;
- a checkpoint restores everything a resumed run needs: the trained modules (adapter, UNet or its
  LoRA), the EMA weights, optimizer, LR scheduler, RNG states, and the data position (the step count:
  both data sources are deterministic functions of it), so resuming equals not stopping;
- validation every ``validation_steps`` generates a grid of held-out EmoFaces identities for every
  MEAD-8 category (EMA weights), scores it with the EmoFaces scorer and logs control accuracy;
- a final EmoFaces-Bench evaluation (``eval_per_category`` > 0) written to metrics.json and a model card.

The model is ``pretrained_model`` (a Stable-Diffusion-layout folder or hub id), or, when that is
empty, a small model built in code (``architecture``: tiny | emofaces64) and trained from scratch.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel, compute_snr
from transformers import CLIPTextModel, CLIPTokenizer

from emogen import training
from emogen.data.emofaces import SPLITS
from emogen.errors import EmotionError
from emogen.image.adapter import MODES, EmotionAdapter, prompt_with_words
from emogen.image.data import DATASETS, CaptionedSamples, EmoFacesCaptioned, ResumableSampler, load_real_samples
from emogen.image.evaluate import bench_cases, contact_sheet, evaluate
from emogen.image.loading import SAMPLING_FILE, load_image_pipeline, save_adapter_only, save_pipeline
from emogen.image.pipeline import EmotionDiffusionPipeline
from emogen.image.tiny import ARCHITECTURES, tiny_components
from emogen.video.noise import correlated_noise_like

TRAIN_MODES = ("adapter", "lora", "full")
# Written into every checkpoint-N, so that a resumed run's model card counts the whole run's training time.
TRAIN_SECONDS_FILE = "train_seconds.json"
logger = logging.getLogger("train_image")


@dataclass
class ImageTrainConfig:
    output_dir: str = "checkpoints/emofaces-image"
    seed: int = 0
    # model
    pretrained_model: str | None = None  # SD-layout folder or hub id; None: build `architecture` in code
    architecture: str = "emofaces64"  # tiny | emofaces64 (when pretrained_model is None)
    adapter_mode: str = "residual"  # residual | tokens | both | prompt_word | class_labels
    adapter_num_tokens: int = 4
    adapter_hidden_dim: int = 128
    train_mode: str = "full"  # adapter | lora | full
    lora_rank: int = 8
    # data
    dataset: str = "emofaces"  # emofaces | affectnet | emoset | findingemo | imagefolder
    data_root: str | None = None  # the dataset's folder (AffectNet, FindingEmo: the annotation file)
    image_root: str | None = None  # AffectNet, FindingEmo: the image folder
    resolution: int = 64
    kinds: dict[str, float] = field(default_factory=lambda: {"category": 0.6, "mixture": 0.15, "va": 0.25})
    default_prompt: str = "a photo"  # for real samples without a caption
    dataloader_num_workers: int = 1
    torch_threads: int = 0  # 0: torch's default
    # classifier-free guidance: each condition dropped independently
    text_dropout: float = 0.1
    emotion_dropout: float = 0.1
    # optimisation
    train_batch_size: int = 32  # per process
    gradient_accumulation_steps: int = 1
    max_train_steps: int = 3000
    learning_rate: float = 1e-3
    lr_scheduler: str = "constant_with_warmup"
    lr_warmup_steps: int = 200
    adam_weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    snr_gamma: float | None = 5.0  # min-SNR weighting (Hang et al. 2023); None: plain MSE
    mixed_precision: str = "no"  # no | fp16 | bf16
    gradient_checkpointing: bool = False
    enable_xformers: bool = False
    use_ema: bool = True
    ema_decay: float = 0.999
    # checkpoints
    checkpointing_steps: int = 500
    checkpoints_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    delete_checkpoints_at_end: bool = False
    logging_steps: int = 50
    # validation during training (main process, EMA weights)
    validation_steps: int = 500  # 0: none
    validation_per_category: int = 2
    validation_inference_steps: int = 25
    validation_guidance_scale: float = 3.0
    validation_scorer: str = "emofaces"  # emofaces | fer2013 | none
    report_to: str = "tensorboard"  # tensorboard | none
    # the result
    save_full_pipeline: bool = True  # False: only the adapter (+ LoRA) and a pointer to the base model
    save_fp16: bool = False  # the full pipeline in half precision only (variant "fp16"): half the size
    eval_per_category: int = 0  # > 0: final EmoFaces-Bench evaluation into metrics.json and the model card
    eval_grid_repeats: int = 2
    eval_best_of: int = 4
    eval_inference_steps: int = 25
    eval_guidance_scale: float = 3.0

    def check(self) -> None:
        choices = {"adapter_mode": MODES, "train_mode": TRAIN_MODES, "dataset": DATASETS,
                   "architecture": ARCHITECTURES, "mixed_precision": ("no", "fp16", "bf16"),
                   "validation_scorer": ("emofaces", "fer2013", "none"), "report_to": ("tensorboard", "none")}
        for name, accepted in choices.items():
            if getattr(self, name) not in accepted:
                raise EmotionError(f"{name} must be one of {', '.join(accepted)}; got {getattr(self, name)!r}")
        if self.adapter_mode == "prompt_word" and self.train_mode == "adapter":
            raise EmotionError("adapter_mode 'prompt_word' has nothing to train with train_mode 'adapter'; use lora or full")
        if self.save_fp16 and not self.save_full_pipeline:
            raise EmotionError("save_fp16 applies to the full pipeline: set save_full_pipeline, or drop save_fp16")
        if self.adapter_mode == "class_labels" and self.pretrained_model and not self.save_full_pipeline:
            raise EmotionError("adapter_mode 'class_labels' adds a class embedding to the UNet: set save_full_pipeline")
        # The adapter-only format keeps the adapter (+ LoRA) and names the base model; what else was
        # trained would be lost at the end of the run.
        if self.train_mode == "full" and not self.save_full_pipeline:
            raise EmotionError("train_mode 'full' trains the whole UNet, which save_full_pipeline false would not "
                               "save: set save_full_pipeline true")
        if not self.pretrained_model and not self.save_full_pipeline:
            raise EmotionError(f"save_full_pipeline false saves a pointer to pretrained_model, and there is none "
                               f"(the {self.architecture!r} model is built in code): set save_full_pipeline true")
        for name in ("text_dropout", "emotion_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise EmotionError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")


# ----- model ---------------------------------------------------------------------------------------------

def load_components(config: ImageTrainConfig) -> dict:
    """unet, vae (None in pixel space), text_encoder, tokenizer, scheduler (for sampling), emotion_adapter."""
    if not config.pretrained_model:
        return tiny_components(mode=config.adapter_mode, image_size=config.resolution, seed=config.seed,
                               architecture=config.architecture, adapter_num_tokens=config.adapter_num_tokens,
                               adapter_hidden_dim=config.adapter_hidden_dim)
    source = config.pretrained_model
    local = Path(source).is_dir()
    if local and not (Path(source) / "unet").is_dir():
        raise EmotionError(f"pretrained_model {source}: no unet/ folder; expected a Stable-Diffusion-layout pipeline folder")
    unet_overrides = {}
    if config.adapter_mode == "class_labels":
        text_width = CLIPTextModel.from_pretrained(source, subfolder="text_encoder").config.hidden_size
        unet_overrides = {"class_embed_type": "projection", "projection_class_embeddings_input_dim": text_width,
                          "low_cpu_mem_usage": False}
    unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", **unet_overrides)
    if config.adapter_mode == "class_labels" and unet_overrides:
        torch.nn.init.zeros_(unet.class_embedding.linear_2.weight)  # a new embedding starts as "no change"
        torch.nn.init.zeros_(unet.class_embedding.linear_2.bias)
    has_vae = (Path(source) / "vae").is_dir() if local else True
    return {
        "unet": unet,
        "vae": AutoencoderKL.from_pretrained(source, subfolder="vae") if has_vae else None,
        "text_encoder": CLIPTextModel.from_pretrained(source, subfolder="text_encoder"),
        "tokenizer": CLIPTokenizer.from_pretrained(source, subfolder="tokenizer"),
        "scheduler": DDIMScheduler.from_pretrained(source, subfolder="scheduler"),
        "emotion_adapter": EmotionAdapter.for_unet(unet, mode=config.adapter_mode, num_tokens=config.adapter_num_tokens,
                                                   hidden_dim=config.adapter_hidden_dim),
    }


def set_trainable(components: dict, config: ImageTrainConfig) -> list[torch.nn.Parameter]:
    """Freeze what this train_mode keeps fixed; return the trained parameters (adapter first)."""
    unet, adapter = components["unet"], components["emotion_adapter"]
    for module in (components["text_encoder"], components["vae"], unet):
        if module is not None:
            module.requires_grad_(False)
    if config.train_mode == "full":
        unet.requires_grad_(True)
    elif config.train_mode == "lora":
        from peft import LoraConfig

        unet.add_adapter(LoraConfig(r=config.lora_rank, lora_alpha=config.lora_rank, init_lora_weights="gaussian",
                                    target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    if config.adapter_mode == "class_labels":
        unet.class_embedding.requires_grad_(True)  # the baseline's own learned part
    adapter.requires_grad_(True)
    return [p for p in adapter.parameters()] + [p for p in unet.parameters() if p.requires_grad]


# ----- data ----------------------------------------------------------------------------------------------

def make_loader(config: ImageTrainConfig, accelerator: Accelerator, micro_batches_done: int):
    """The data loader, positioned after ``micro_batches_done`` batches of this run."""
    rank, world = accelerator.process_index, accelerator.num_processes
    start = micro_batches_done * config.train_batch_size * world
    if config.dataset == "emofaces":
        dataset = EmoFacesCaptioned(config.resolution, split="train", seed=config.seed, kinds=config.kinds,
                                    start=start, chunk_size=config.train_batch_size, rank=rank, world_size=world)
        sampler = None
    else:
        samples = load_real_samples(config.dataset, config.data_root, config.image_root)
        dataset = CaptionedSamples(samples, config.resolution, config.default_prompt)
        sampler = ResumableSampler(len(dataset), config.train_batch_size, config.seed, start, rank, world)
    # Its own generator: the loader must not draw from the global RNG that a checkpoint restores.
    return torch.utils.data.DataLoader(dataset, batch_size=config.train_batch_size, sampler=sampler,
                                       num_workers=config.dataloader_num_workers,
                                       persistent_workers=config.dataloader_num_workers > 0,
                                       generator=torch.Generator().manual_seed(config.seed))


# ----- one step ------------------------------------------------------------------------------------------

class ConditionedUNet(torch.nn.Module):
    """The UNet and the emotion adapter as one module, so Accelerate prepares one model (DeepSpeed and
    FSDP2 take one) and DistributedDataParallel sees every trained parameter through one forward."""

    def __init__(self, unet: UNet2DConditionModel, emotion_adapter: EmotionAdapter):
        super().__init__()
        self.unet, self.emotion_adapter = unet, emotion_adapter

    def forward(self, noisy, timesteps, prompt_embeds, features, drop_emotion) -> torch.Tensor:
        hidden_states, class_labels = self.emotion_adapter.condition(prompt_embeds, features, drop_emotion)
        return self.unet(noisy, timesteps, encoder_hidden_states=hidden_states, class_labels=class_labels).sample


def diffusion_loss(model: ConditionedUNet, batch: dict, models: dict, noise_scheduler: DDPMScheduler,
                   config: ImageTrainConfig, device: torch.device, weight_dtype: torch.dtype,
                   noise_correlation: float = 0.0) -> torch.Tensor:
    """The denoising loss of one batch; ``noise_correlation``: the share of noise a video clip's frames have
    in common (the video trainer's VideoTrainConfig.noise_correlation, emogen.video.noise; images: 0)."""
    vae, tokenizer, text_encoder = models["vae"], models["tokenizer"], models["text_encoder"]
    pixels = batch["pixel_values"].to(device, weight_dtype)
    with torch.no_grad():
        latents = pixels if vae is None else vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
    batch_size = latents.shape[0]
    noise = correlated_noise_like(latents, noise_correlation)
    timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (batch_size,), device=device)
    noisy = noise_scheduler.add_noise(latents, noise, timesteps)

    drop_text = (torch.rand(batch_size) < config.text_dropout).tolist()
    drop_emotion = torch.rand(batch_size) < config.emotion_dropout
    captions = ["" if drop else caption for caption, drop in zip(batch["caption"], drop_text)]
    if config.adapter_mode == "prompt_word":  # the baseline: the emotion is words in the prompt
        captions = [text if drop else prompt_with_words(text, words)
                    for text, words, drop in zip(captions, batch["emotion_words"], drop_emotion.tolist())]
    ids = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids.to(device)
    with torch.no_grad():
        prompt_embeds = text_encoder(ids)[0]
    prediction = model(noisy, timesteps, prompt_embeds, batch["emotion_features"].to(device), drop_emotion.to(device))

    if noise_scheduler.config.prediction_type == "v_prediction":
        target = noise_scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    if config.snr_gamma is None:
        return F.mse_loss(prediction.float(), target.float())
    snr = compute_snr(noise_scheduler, timesteps)
    weights = torch.minimum(snr, torch.full_like(snr, config.snr_gamma))
    weights = weights / snr if noise_scheduler.config.prediction_type == "epsilon" else weights / (snr + 1)
    per_sample = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    return (per_sample * weights).mean()


# ----- validation and evaluation -----------------------------------------------------------------------

def pipeline_of(models: dict) -> EmotionDiffusionPipeline:
    """The pipeline around the modules being trained (the same objects the prepared model wraps)."""
    pipeline = EmotionDiffusionPipeline(**{name: models[name] for name in
                                           ("unet", "vae", "text_encoder", "tokenizer", "scheduler", "emotion_adapter")})
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def get_validation_scorer(name: str):
    if name == "none":
        return None
    from emogen.score.registry import get_scorer

    return get_scorer(name)


def log_validation(models: dict, config: ImageTrainConfig, accelerator: Accelerator, scorer, step: int) -> dict:
    """Generate one image per (category, repeat) for held-out identities, score them, log, save the grid."""
    pipeline = pipeline_of(models)
    cases = bench_cases(per_category=config.validation_per_category, grid_repeats=0, seed=config.seed + 7)
    call = {"num_inference_steps": config.validation_inference_steps,
            "guidance_scale": config.validation_guidance_scale}
    if scorer is None:
        from emogen.image.evaluate import generate

        images, metrics = generate(pipeline, cases, **call), {}
    else:
        metrics, images = evaluate(pipeline, scorer, cases, **call)
    sheet = contact_sheet([case_images[0] for case_images in images], columns=8)
    folder = Path(config.output_dir) / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    sheet.save(folder / f"step-{step:06d}.png")
    scalars = {f"validation/{k}": v for k, v in metrics.items() if isinstance(v, float)}
    if config.report_to == "tensorboard":
        tracker = accelerator.get_tracker("tensorboard", unwrap=True)
        tracker.add_image("validation/grid", np.asarray(sheet), step, dataformats="HWC")
    accelerator.log(scalars, step=step)
    if metrics:
        accelerator.print(f"validation step {step}: top-1 {metrics['top1_accuracy']:.3f} VA MAE {metrics['va_mae']:.3f} "
                          + " ".join(f"{k[:4]} {v:.2f}" for k, v in metrics["per_category_accuracy"].items()))
    return metrics


# ----- saving --------------------------------------------------------------------------------------------

def save_result(models: dict, config: ImageTrainConfig, accelerator: Accelerator, output_dir: Path) -> None:
    """The full pipeline (save_pretrained), or the adapter (+ LoRA) and a pointer to the base model."""
    unet, adapter = models["unet"], models["emotion_adapter"]
    if config.save_full_pipeline:
        if config.train_mode == "lora":
            unet.fuse_lora()
            unet.unload_lora()
        pipeline = pipeline_of(models)
        save_pipeline(pipeline, output_dir, config.save_fp16)
    else:
        save_adapter_only(output_dir, adapter, config.pretrained_model, unet if config.train_mode == "lora" else None)
    write_sampling_settings(output_dir, config)


# ----- the loop ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    training.run_trainer(ImageTrainConfig, train, argv, __doc__.split("\n")[0], "train_image.py")


def train(config: ImageTrainConfig) -> None:
    started = time.time()
    output_dir = Path(config.output_dir)
    accelerator = training.make_accelerator(config, output_dir)

    set_seed(config.seed)  # the same initial weights on every process
    models = load_components(config)
    trainable = set_trainable(models, config)
    weight_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(accelerator.mixed_precision, torch.float32)
    for name in ("text_encoder", "vae"):  # frozen: held in the compute dtype, as diffusers' scripts do
        if models[name] is not None:
            models[name].to(accelerator.device, dtype=weight_dtype)
    if config.train_mode != "full":
        models["unet"].to(accelerator.device, dtype=weight_dtype)
        for parameter in trainable:  # but what is trained stays in fp32 (mixed precision's master weights)
            parameter.data = parameter.data.float()
    if config.gradient_checkpointing:
        models["unet"].enable_gradient_checkpointing()
    if config.enable_xformers:
        models["unet"].enable_xformers_memory_efficient_attention()
    noise_scheduler = DDPMScheduler.from_config(models["scheduler"].config)

    optimizer, lr_scheduler = make_optimizer(config, trainable, accelerator)
    model, optimizer, lr_scheduler = accelerator.prepare(
        ConditionedUNet(models["unet"], models["emotion_adapter"]), optimizer, lr_scheduler)
    def describe(global_step: int) -> str:
        return (f"UNet {sum(p.numel() for p in models['unet'].parameters()):,} parameters, trained "
                f"{sum(p.numel() for p in trainable):,} ({config.train_mode}, adapter {config.adapter_mode}); "
                f"{accelerator.num_processes} process(es) on {accelerator.device}; "
                f"steps {global_step} -> {config.max_train_steps}")

    def validate(global_step: int, ema, scorer) -> None:
        with ema_weights(ema, trainable):
            log_validation(models, config, accelerator, scorer, global_step)

    train_seconds, ema = run_training(accelerator, config, output_dir, "train_image", model, models, trainable,
                                      optimizer, lr_scheduler, noise_scheduler, weight_dtype, make_loader, describe,
                                      validate)
    check_in_sync(trainable, accelerator)

    if accelerator.is_main_process:
        if ema is not None:
            ema.copy_to(trainable)
        model.eval()
        save_result(models, config, accelerator, output_dir)
        facts = run_facts(config, accelerator, models, trainable, train_seconds)
        metrics = final_evaluation(output_dir, config) if config.eval_per_category > 0 else {}
        write_card(output_dir, config, {**facts, **metrics}, started)
        if config.delete_checkpoints_at_end:
            training.delete_checkpoints(output_dir)
    accelerator.wait_for_everyone()
    accelerator.end_training()


def make_optimizer(config, trainable: list, accelerator: Accelerator):
    """AdamW and its learning-rate schedule. The prepared scheduler steps once per process per optimiser
    step (as in diffusers' scripts), hence the counts times the number of processes."""
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.adam_weight_decay)
    lr_scheduler = get_scheduler(config.lr_scheduler, optimizer,
                                 num_warmup_steps=config.lr_warmup_steps * accelerator.num_processes,
                                 num_training_steps=config.max_train_steps * accelerator.num_processes)
    return optimizer, lr_scheduler


def write_sampling_settings(output_dir: Path, config, **extra) -> None:
    """The settings validation sampled with (steps, guidance, and any ``extra`` such as the video trainer's
    noise correlation): what `emogen image` / `emogen video` use for the model by default."""
    (output_dir / SAMPLING_FILE).write_text(json.dumps(
        {"num_inference_steps": config.validation_inference_steps,
         "guidance_scale": config.validation_guidance_scale, **extra}, indent=2) + "\n")


def run_training(accelerator: Accelerator, config, output_dir: Path, tracker: str, model, models: dict, trainable: list,
                 optimizer, lr_scheduler, noise_scheduler, weight_dtype, make_loader, describe, validate,
                 noise_correlation: float = 0.0):
    """The loop every diffusion trainer here shares (the image and the video trainer): EMA, resume with the
    data position, trackers, accumulate / clip / step, logging, checkpoint-N with rotation and the run's
    cumulative seconds, validation every ``validation_steps`` on the main process.

    ``make_loader(config, accelerator, skip_batches)``, ``describe(step) -> str`` (the start line) and
    ``validate(step, ema, scorer)`` are what differ, and ``noise_correlation`` (video clips: how much noise
    their frames share; see `diffusion_loss`). Returns (training seconds over all resumed parts, ema).
    """
    ema = None
    if config.use_ema:
        ema = EMAModel(trainable, decay=config.ema_decay)
        ema.to(accelerator.device)
        accelerator.register_for_checkpointing(ema)

    checkpoint, global_step = training.resume(accelerator, config.resume_from_checkpoint, output_dir)
    if checkpoint is not None:
        seconds_before = read_train_seconds(checkpoint)
    else:
        seconds_before = 0.0
        set_seed(config.seed, device_specific=True)  # different noise on every process
    if accelerator.is_main_process and config.report_to != "none":
        accelerator.init_trackers(tracker, config={k: v for k, v in dataclasses.asdict(config).items()
                                                   if isinstance(v, (int, float, str, bool))})

    loader = make_loader(config, accelerator, global_step * config.gradient_accumulation_steps)
    scorer = get_validation_scorer(config.validation_scorer) if accelerator.is_main_process else None
    accelerator.print(describe(global_step))

    train_started, running, count = time.time(), 0.0, 0
    batches = iter(loader)
    model.train()
    while global_step < config.max_train_steps:
        batch = next(batches)
        with accelerator.accumulate(model):
            loss = diffusion_loss(model, batch, models, noise_scheduler, config, accelerator.device, weight_dtype,
                                  noise_correlation)
            accelerator.backward(loss)
            if accelerator.sync_gradients and config.max_grad_norm > 0:
                accelerator.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
        running += loss.item()
        count += 1
        if not accelerator.sync_gradients:
            continue
        global_step += 1
        if ema is not None:
            ema.step(trainable)
        if global_step % config.logging_steps == 0 or global_step == config.max_train_steps:
            accelerator.log({"train/loss": running / count, "train/lr": lr_scheduler.get_last_lr()[0]}, step=global_step)
            accelerator.print(f"step {global_step}/{config.max_train_steps} loss {running / count:.4f} "
                              f"lr {lr_scheduler.get_last_lr()[0]:.2e} {time.time() - train_started:.0f}s")
            running, count = 0.0, 0
        if global_step % config.checkpointing_steps == 0:
            saved = training.save_checkpoint(accelerator, output_dir, global_step, config.checkpoints_total_limit)
            if accelerator.is_main_process:
                write_train_seconds(saved, seconds_before + time.time() - train_started)
        if config.validation_steps > 0 and global_step % config.validation_steps == 0:
            if accelerator.is_main_process:
                validate(global_step, ema, scorer)
            accelerator.wait_for_everyone()
    return seconds_before + time.time() - train_started, ema


def read_train_seconds(checkpoint: Path) -> float:
    """Training seconds spent up to ``checkpoint`` (0 for a checkpoint that did not record them)."""
    path = checkpoint / TRAIN_SECONDS_FILE
    return float(json.loads(path.read_text())["train_seconds"]) if path.is_file() else 0.0


def write_train_seconds(checkpoint: Path, seconds: float) -> None:
    (checkpoint / TRAIN_SECONDS_FILE).write_text(json.dumps({"train_seconds": round(seconds, 1)}) + "\n")


def check_in_sync(parameters: list[torch.nn.Parameter], accelerator: Accelerator) -> None:
    """Every process must end with the same weights (DDP's gradient all-reduce); fail loudly if not."""
    checksum = torch.stack([p.detach().double().sum() for p in parameters]).sum().reshape(1)
    checksums = accelerator.gather(checksum.to(accelerator.device)).tolist()
    if any(value != checksums[0] for value in checksums):
        raise RuntimeError(f"processes ended with different weights (checksums {checksums}): gradients were not in sync")
    accelerator.print(f"weights in sync across {accelerator.num_processes} process(es): checksum {checksums[0]!r}")


class ema_weights:
    """Within the block the trained parameters hold their EMA values (nothing happens without EMA)."""

    def __init__(self, ema: EMAModel | None, parameters: list[torch.nn.Parameter]):
        self.ema, self.parameters = ema, parameters

    def __enter__(self):
        if self.ema is not None:
            self.ema.store(self.parameters)
            self.ema.copy_to(self.parameters)

    def __exit__(self, *exc):
        if self.ema is not None:
            self.ema.restore(self.parameters)


def run_facts(config: ImageTrainConfig, accelerator: Accelerator, models: dict, trainable: list, seconds: float) -> dict:
    return {
        "unet_parameters": sum(p.numel() for p in models["unet"].parameters()),
        "trained_parameters": sum(p.numel() for p in trainable),
        "num_processes": accelerator.num_processes,
        "device": str(accelerator.device),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "train_seconds": seconds,
        "train_samples": config.max_train_steps * config.train_batch_size * accelerator.num_processes
        * config.gradient_accumulation_steps,
        "command": training.launch_command("train/train_image.py", sys.argv[1:], accelerator.num_processes),
        "config": dataclasses.asdict(config),
        **cuda_memory_facts(accelerator.device),
    }


def cuda_memory_facts(device: torch.device) -> dict:
    """This process's peak GPU memory over the run (what docs/gpu_recipe.md's table reports); none on CPU."""
    if device.type != "cuda":
        return {}
    return {"cuda_device_name": torch.cuda.get_device_name(device),
            "cuda_peak_allocated_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 3),
            "cuda_peak_reserved_gb": round(torch.cuda.max_memory_reserved(device) / 1e9, 3)}


def final_evaluation(output_dir: Path, config: ImageTrainConfig) -> dict:
    """EmoFaces-Bench on the saved model, loaded back as a user would load it."""
    pipeline = load_image_pipeline(output_dir)
    pipeline.set_progress_bar_config(disable=True)
    scorer = get_validation_scorer("emofaces")
    cases = bench_cases(per_category=config.eval_per_category, grid_repeats=config.eval_grid_repeats)
    metrics, _ = evaluate(pipeline, scorer, cases, best_of=config.eval_best_of,
                          num_inference_steps=config.eval_inference_steps, guidance_scale=config.eval_guidance_scale)
    return {"eval": metrics}


def write_card(output_dir: Path, config: ImageTrainConfig, metrics: dict, started: float) -> None:
    metrics["total_seconds"] = time.time() - started
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (output_dir / "README.md").write_text(model_card(config, metrics))


def model_card(config: ImageTrainConfig, metrics: dict) -> str:
    evaluation = metrics.get("eval")
    if evaluation:
        per_category = "\n".join(f"| {name} | {accuracy:.3f} |" for name, accuracy in evaluation["per_category_accuracy"].items())
        scores = f"""## Evaluation: EmoFaces-Bench (held-out identities and prompts)

{evaluation['cases']} cases: every MEAD-8 category x {config.eval_per_category} identities, and a 5 x 5
valence-arousal grid x {config.eval_grid_repeats}; {config.eval_inference_steps} DDIM steps, guidance
{config.eval_guidance_scale}; scored by the EmoFaces scorer (checkpoints/emofaces-scorer). Single-sample
numbers average over all {evaluation['best_of']} candidates of every case.

| metric | value |
|---|---|
| top-1 control accuracy, single sample | {evaluation['top1_accuracy']:.3f} |
| top-1 control accuracy, best of {evaluation['best_of']} | {evaluation['best_of_top1_accuracy']:.3f} |
| VA MAE, single sample (all cases) | {evaluation['va_mae']:.3f} |
| VA MAE, grid cases | {evaluation['va_mae_grid']:.3f} |
| VA MAE, best of {evaluation['best_of']} | {evaluation['best_of_va_mae']:.3f} |
| seconds per image (CPU, batch 16) | {evaluation['seconds_per_image']:.3f} |

| category | accuracy |
|---|---|
{per_category}
"""
    else:
        scores = "## Evaluation\n\nNot evaluated by the training run (`eval_per_category: 0`); see BENCHMARKS.md.\n"
    return f"""---
library_name: diffusers
tags: [emogen, text-to-image, emotion, emofaces, procedural-data]
---
# EmoFaces image model ({config.adapter_mode} adapter)

An `emogen.image.EmotionDiffusionPipeline` trained from scratch on emogen's procedural EmoFaces world:
prompt (the face's identity: hair, glasses, skin, shirt, background) + emotion (any emogen spec: a
category, a mixture, a valence-arousal point) -> a {config.resolution} px face. Architecture
`{config.architecture}` ({metrics['unet_parameters']:,} UNet parameters, pixel space), adapter mode
`{config.adapter_mode}`, train mode `{config.train_mode}`.

## Training

    {metrics['command']}

{config.max_train_steps} steps x batch {config.train_batch_size} x {metrics['num_processes']} process(es)
({metrics['train_samples']:,} EmoFaces stills of training identities {SPLITS['train'][0]}..{SPLITS['train'][1] - 1},
kinds {config.kinds}); text and emotion each dropped with p = {config.text_dropout} / {config.emotion_dropout}
for classifier-free guidance; AdamW lr {config.learning_rate} ({config.lr_scheduler}, {config.lr_warmup_steps}
warm-up steps), min-SNR gamma {config.snr_gamma}, EMA decay {config.ema_decay if config.use_ema else 'off'}.
{metrics['train_seconds']:.0f} s of training on {metrics['device']} ({metrics['cpu_count']} CPU cores),
torch {metrics['torch_version']}.

{scores}
## Limits

It knows EmoFaces' cartoon faces only; it is the project's measured proof that the conditioning
method works end to end, not a general image model. For photographs, fine-tune the adapter on
Stable Diffusion (README: GPU recipe).
"""


if __name__ == "__main__":
    main()
