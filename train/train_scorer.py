"""Train the EmoFaces scorer (emogen.score.emofaces_model.EmoFacesNet) on procedural EmoFaces stills.

    accelerate launch train/train_scorer.py [--config train/configs/scorer.yaml] [--key value ...]

Any field of ``ScorerTrainConfig`` can be set in the YAML config and overridden on the command line
(values are read as YAML: ``--block_channels "[16, 32, 64, 96]"``, ``--mixed_precision bf16``).
The loop is the one diffusers' example scripts use: gradient accumulation, ``checkpoint-N`` folders
written with ``accelerator.save_state`` every ``checkpointing_steps`` (at most
``checkpoints_total_limit`` kept), ``--resume_from_checkpoint latest`` (or a path), cosine LR with
warm-up. Each process renders its own shard of the stream (``EmoFacesStills`` shards by rank, and
by worker with ``chunk_size`` = batch size), so a resumed run sees exactly the batches an
uninterrupted one would. On a machine without CUDA the Accelerator runs on CPU; two CPU processes
run DDP over gloo with ``accelerate launch --multi_gpu --num_processes 2 --num_machines 1``.

At the end the main process evaluates on held-out identities (``evaluate``), writes
``metrics.json``, saves the model with ``save_pretrained`` (plus an fp16 copy when its accuracy
holds) and a model card ``README.md`` into ``output_dir``.
"""
from __future__ import annotations

import dataclasses
import json
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
from diffusers.optimization import get_cosine_schedule_with_warmup

from emogen import training
from emogen.data.emofaces import BLINK_CLOSURES, CATEGORIES, KINDS, SPLITS, EmoFacesStills, SpeakingAugmentation
from emogen.score.emofaces_model import EmoFacesNet
from emogen.score.metrics import confusion_matrix, mae



@dataclass
class ScorerTrainConfig:
    output_dir: str = "checkpoints/emofaces-scorer"
    seed: int = 0
    # model
    block_channels: list[int] = field(default_factory=lambda: [16, 32, 64, 96])
    hidden_size: int = 128
    dropout: float = 0.1
    image_size: int = 64
    # data: EmoFaces stills of training identities, kinds weighted as below
    kinds: dict[str, float] = field(default_factory=lambda: {"category": 0.6, "mixture": 0.15, "va": 0.25})
    # Speaking stills (EmoFacesStills' SpeakingAugmentation): shares of training stills given a random speech
    # mouth (visemes laid over the expression by the talking head's rule) and a blink. 0: plain stills.
    speech_prob: float = 0.0
    blink_prob: float = 0.0
    # Still kinds that may speak/blink; VA-plane points carry arousal on the jaw and lids, so by default
    # they stay plain (a speech mouth or blink over them blurs their arousal label).
    speaking_kinds: list[str] = field(default_factory=lambda: ["category", "mixture"])
    dataloader_num_workers: int = 1
    torch_threads: int = 0  # 0: leave torch's default
    # optimisation
    train_batch_size: int = 64  # per process
    gradient_accumulation_steps: int = 1
    max_train_steps: int = 1500
    learning_rate: float = 3e-3
    lr_warmup_steps: int = 100
    weight_decay: float = 1e-4
    va_loss_weight: float = 4.0
    # Category loss weight of VA-plane points. Their labels put much weight on neutral, which adds
    # nothing to a face, so a weak pure expression would be taught to read as neutral; the VA loss
    # still learns from them in full.
    va_points_category_weight: float = 0.25
    mixed_precision: str = "no"  # no | fp16 | bf16
    # augmentation, so the scorer also reads generated (slightly off) images
    hflip: bool = True
    color_jitter: float = 0.1
    noise_std: float = 0.04
    blur_prob: float = 0.3
    # checkpoints
    checkpointing_steps: int = 500
    checkpoints_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    delete_checkpoints_at_end: bool = False
    logging_steps: int = 50
    # evaluation on held-out identities
    eval_samples: int = 2000  # single categories, intensity U(0.5, 1)
    eval_va_samples: int = 1000  # points of the VA plane
    eval_seed: int = 12345
    validation_steps: int = 0  # > 0: log held-out accuracy every this many steps (main process)
    validation_samples: int = 400
    # Also measure held-out accuracy on speaking, blinking stills (every one speaks, this share blinks):
    # how well the scorer reads talking-head frames. None: as many as eval_samples; 0: skip.
    eval_speaking_samples: int | None = None
    eval_speaking_blink_prob: float = 0.5


# ----- configuration ---------------------------------------------------------------------------------

def parse_config(argv: list[str]) -> ScorerTrainConfig:
    return training.parse_config(ScorerTrainConfig, argv, __doc__.split("\n")[0])


# ----- augmentation ------------------------------------------------------------------------------------

def augment(pixels: torch.Tensor, config: ScorerTrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Flip, colour jitter, blur and noise on a B x 3 x H x W batch in [-1, 1], per sample."""
    batch = pixels.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (low + (high - low) * torch.rand(batch, *shape, generator=generator)).to(pixels)

    if config.hflip:
        # A mirrored face shows the same emotion (contempt's one-sided smirk may be on either side).
        flip = uniform(0, 1, 1, 1, 1) < 0.5
        pixels = torch.where(flip, pixels.flip(-1), pixels)
    if config.color_jitter > 0:
        j = config.color_jitter
        gray = pixels.mean(1, keepdim=True)
        pixels = gray + (pixels - gray) * uniform(1 - 2 * j, 1 + 2 * j, 1, 1, 1)  # saturation
        mean = pixels.mean((1, 2, 3), keepdim=True)
        pixels = mean + (pixels - mean) * uniform(1 - j, 1 + j, 1, 1, 1)  # contrast
        pixels = pixels + uniform(-j, j, 1, 1, 1) + uniform(-j / 2, j / 2, 3, 1, 1)  # brightness, tint
    if config.blur_prob > 0:
        sigma = uniform(0.3, 1.0)
        taps = torch.exp(-0.5 * (torch.arange(-1, 2).to(pixels)[None] / sigma[:, None]) ** 2)
        taps = taps / taps.sum(1, keepdim=True)
        kernel = (taps[:, :, None] * taps[:, None, :]).repeat_interleave(3, 0)[:, None]  # (B*3) x 1 x 3 x 3
        height, width = pixels.shape[-2:]
        blurred = F.conv2d(F.pad(pixels.reshape(1, -1, height, width), (1, 1, 1, 1), mode="replicate"),
                           kernel, groups=batch * 3).reshape(pixels.shape)
        pixels = torch.where(uniform(0, 1, 1, 1, 1) < config.blur_prob, blurred, pixels)
    if config.noise_std > 0:
        noise = torch.randn(pixels.shape, generator=generator).to(pixels)
        pixels = pixels + noise * uniform(0, config.noise_std, 1, 1, 1)
    return pixels.clamp(-1, 1)


# ----- loss and evaluation -------------------------------------------------------------------------------

def losses(model: torch.nn.Module, batch: dict, config: ScorerTrainConfig) -> tuple[torch.Tensor, dict]:
    """Soft-label cross-entropy on the category mixture + L1 on valence/arousal."""
    logits, va = model(batch["pixel_values"])
    weights = torch.where(batch["kind"] == KINDS.index("va"), config.va_points_category_weight, 1.0)
    cross_entropy = -(batch["probs"] * F.log_softmax(logits.float(), -1)).sum(-1)
    classification = (weights * cross_entropy).sum() / weights.sum()
    target_va = torch.stack([batch["valence"], batch["arousal"]], -1)
    regression = F.smooth_l1_loss(va.float(), target_va, beta=0.05)
    loss = classification + config.va_loss_weight * regression
    return loss, {"ce": classification.detach(), "va": regression.detach()}


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: EmoFacesStills, device: torch.device, workers: int) -> dict:
    """Predictions of ``model`` over a finite stream: labels, predicted labels, target and predicted VA."""
    model.eval()
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, num_workers=workers)
    rows: dict[str, list] = {"category": [], "predicted": [], "va": [], "predicted_va": []}
    for batch in loader:
        logits, va = model(batch["pixel_values"].to(device, next(model.parameters()).dtype))
        rows["category"].append(batch["category"].numpy())
        rows["predicted"].append(logits.float().argmax(-1).cpu().numpy())
        rows["va"].append(torch.stack([batch["valence"], batch["arousal"]], -1).numpy())
        rows["predicted_va"].append(va.float().cpu().numpy())
    return {key: np.concatenate(value) for key, value in rows.items()}


def speaking_augmentation(config: ScorerTrainConfig) -> SpeakingAugmentation | None:
    """The training stills' speaking/blinking augmentation, None when it is off."""
    augmentation = SpeakingAugmentation(speech_prob=config.speech_prob, blink_prob=config.blink_prob,
                                        kinds=tuple(config.speaking_kinds))
    return augmentation if augmentation.active else None


def _speaking_samples(config: ScorerTrainConfig) -> int:
    return config.eval_samples if config.eval_speaking_samples is None else config.eval_speaking_samples


def category_accuracy(rows: dict) -> dict:
    """Top-1 and per-class accuracy, per-class counts and the confusion matrix of ``predict``'s rows."""
    confusion = confusion_matrix(rows["category"], rows["predicted"], len(CATEGORIES))
    return {
        "top1_accuracy": float(np.trace(confusion) / confusion.sum()),
        "per_class_accuracy": {name: float(confusion[i, i] / max(1, confusion[i].sum()))
                               for i, name in enumerate(CATEGORIES)},
        "per_class_count": {name: int(confusion[i].sum()) for i, name in enumerate(CATEGORIES)},
        "confusion_matrix": confusion.tolist(),
    }


def evaluate_speaking(model: torch.nn.Module, config: ScorerTrainConfig, device: torch.device) -> dict:
    """Top-1 and per-class accuracy on held-out single categories that all speak (and some blink)."""
    speaking = SpeakingAugmentation(speech_prob=1.0, blink_prob=config.eval_speaking_blink_prob)
    dataset = EmoFacesStills(split="heldout", size=config.image_size, seed=config.eval_seed, rank=0, world_size=1,
                             n=_speaking_samples(config), kinds={"category": 1.0}, speaking=speaking)
    rows = predict(model, dataset, device, config.dataloader_num_workers)
    return {
        **category_accuracy(rows),
        "va_mae_singles": mae(rows["va"], rows["predicted_va"]),
        "samples": int(len(rows["category"])),
        "blink_prob": config.eval_speaking_blink_prob,
    }


def evaluate(model: torch.nn.Module, config: ScorerTrainConfig, device: torch.device) -> dict:
    """Top-1 / per-class accuracy and confusion on held-out single categories; VA MAE on those plus VA points."""
    common = dict(split="heldout", size=config.image_size, seed=config.eval_seed, rank=0, world_size=1)
    singles = predict(model, EmoFacesStills(n=config.eval_samples, kinds={"category": 1.0}, **common), device,
                      config.dataloader_num_workers)
    points = predict(model, EmoFacesStills(n=config.eval_va_samples, kinds={"va": 1.0}, **common), device,
                     config.dataloader_num_workers)
    va, predicted_va = (np.concatenate([singles[k], points[k]]) for k in ("va", "predicted_va"))
    return {
        **category_accuracy(singles),
        "va_mae": mae(va, predicted_va),
        "valence_mae": mae(va[:, 0], predicted_va[:, 0]),
        "arousal_mae": mae(va[:, 1], predicted_va[:, 1]),
        "va_mae_singles": mae(singles["va"], singles["predicted_va"]),
        "va_mae_va_points": mae(points["va"], points["predicted_va"]),
        "eval_samples": int(len(singles["category"])),
        "eval_va_samples": int(len(points["va"])),
    }


def log_validation(model: EmoFacesNet, config: ScorerTrainConfig, accelerator: Accelerator, step: int) -> None:
    """A quick held-out check during training (fewer samples than the final evaluation)."""
    quick = dataclasses.replace(config, eval_samples=config.validation_samples,
                                eval_va_samples=config.validation_samples // 2, eval_seed=config.eval_seed + 1)
    metrics = evaluate(model, quick, accelerator.device)
    model.train()
    accelerator.print(f"validation step {step}: top-1 {metrics['top1_accuracy']:.4f} VA MAE {metrics['va_mae']:.4f} "
                      + " ".join(f"{k[:4]} {v:.2f}" for k, v in metrics["per_class_accuracy"].items()))


# ----- model card ----------------------------------------------------------------------------------------

def model_card(config: ScorerTrainConfig, metrics: dict, command: str) -> str:
    names = list(CATEGORIES)
    confusion = metrics["confusion_matrix"]
    header = "| true \\ predicted | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = "".join(f"| {name} | " + " | ".join(str(c) for c in confusion[i]) + " |\n" for i, name in enumerate(names))
    per_class = "\n".join(f"| {name} | {metrics['per_class_accuracy'][name]:.4f} | {metrics['per_class_count'][name]} |"
                          for name in names)
    fp16 = metrics.get("fp16")
    kinds = ", ".join(f"{name} {weight:g}" for name, weight in config.kinds.items())
    fp16_text = (f"fp16 weights (`diffusion_pytorch_model.fp16.safetensors`, load with `variant=\"fp16\"`): "
                 f"top-1 {fp16['top1_accuracy']:.4f}, VA MAE {fp16['va_mae']:.4f} on the same evaluation set "
                 f"({'written' if fp16['written'] else 'not written: accuracy dropped'})." if fp16 else "")
    augmentation = speaking_augmentation(config)
    (shut_low, shut_high), (part_low, part_high) = BLINK_CLOSURES
    speaking_text = (f"Speaking stills (`SpeakingAugmentation`): {config.speech_prob:.0%} of the "
                     f"{' and '.join(config.speaking_kinds)} stills get a random speech "
                     "mouth (one or two of the talking head's visemes, `emogen.talking.visemes`, opening scaled "
                     f"U({augmentation.opening_range[0]:g}, {augmentation.opening_range[1]:g}) as loudness scales "
                     "it, laid over the expression by the talking head's own rule, "
                     f"`emogen.talking.expression.speaking_face`) and {config.blink_prob:.0%} a blink (closure "
                     f"U({shut_low:g}, {shut_high:g}) or U({part_low:g}, {part_high:g}), half each); the label stays "
                     "the still's emotion.\n\n" if augmentation is not None else "")
    speaking = metrics.get("speaking")
    speaking_eval = (f"- Speaking stills (the same held-out identities, {speaking['samples']} single categories, every one "
                     f"with a random speech mouth, {speaking['blink_prob']:.0%} blinking): top-1 "
                     f"**{speaking['top1_accuracy']:.4f}** ("
                     + ", ".join(f"{k} {v:.2f}" for k, v in speaking["per_class_accuracy"].items()) + ")\n"
                     if speaking else "")
    return f"""---
library_name: diffusers
tags: [emogen, emotion-recognition, emofaces, procedural-data]
---
# EmoFaces scorer

A small CNN (`emogen.score.emofaces_model.EmoFacesNet`, {metrics['parameters']:,} parameters) that reads the MEAD-8
category ({", ".join(names)}) and valence/arousal
off a face of emogen's procedural EmoFaces world. It is the default scorer of `emogen score`
(`EmoFacesScorer`); inputs of any size are resized to {config.image_size}x{config.image_size}.

## Training

Command (run from the repository root; {metrics['num_processes']} process(es), {metrics['device']}):

    {command}

Data: EmoFaces stills rendered on the fly by `emogen.data.emofaces.EmoFacesStills` at {config.image_size} px
from identity seeds {SPLITS['train'][0]}..{SPLITS['train'][1] - 1} (the training split), with a small random head pose.
Emotion kinds: {kinds} (single categories at intensity U(0.5, 1); mixtures of two
non-neutral categories; points of the valence-arousal disc). {metrics['train_samples']:,} images rendered, each
seen once ({config.max_train_steps} steps x {config.train_batch_size} per process x {metrics['num_processes']}
process(es) x {config.gradient_accumulation_steps} accumulation step(s)).

{speaking_text}Augmentation: horizontal flip, colour jitter {config.color_jitter}, 3x3 blur with probability {config.blur_prob},
Gaussian noise up to std {config.noise_std}. Loss: soft-label cross-entropy on the category mixture (weight
{config.va_points_category_weight} on VA-plane points) + {config.va_loss_weight} x smooth L1 on valence/arousal.
AdamW, learning rate {config.learning_rate}, cosine schedule with {config.lr_warmup_steps} warm-up steps, weight
decay {config.weight_decay}, mixed precision `{config.mixed_precision}`.

Training time: {metrics['train_seconds']:.0f} s of training ({metrics['total_seconds']:.0f} s including evaluation)
on {metrics['device']} with {metrics['cpu_count']} CPU cores, torch {metrics['torch_version']}.

## Evaluation (held-out identities)

Identity seeds {SPLITS['heldout'][0]}..{SPLITS['heldout'][1] - 1}, never seen in training (stream seed {config.eval_seed}):
{metrics['eval_samples']} single-category stills (category uniform over MEAD-8, intensity U(0.5, 1), random small pose)
for accuracy; valence/arousal error over those plus {metrics['eval_va_samples']} points of the VA disc
(`Emotion.from_vad`, uniform over the unit disc).

- Top-1 accuracy: **{metrics['top1_accuracy']:.4f}**
- VA MAE: **{metrics['va_mae']:.4f}** (valence {metrics['valence_mae']:.4f}, arousal {metrics['arousal_mae']:.4f};
  single categories {metrics['va_mae_singles']:.4f}, VA points {metrics['va_mae_va_points']:.4f})
{speaking_eval}
| class | accuracy | samples |
|---|---|---|
{per_class}

Confusion matrix (rows: true class, columns: predicted):

{header}{rows}
{fp16_text}

## Limits

This scorer knows only EmoFaces' cartoon faces. It measures whether a generator trained on that world
puts the intended expression on a face; it says nothing reliable about photographs (use `fer2013`).
"""


# ----- the loop ------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    config = parse_config(sys.argv[1:] if argv is None else argv)
    started = time.time()
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
    )
    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    set_seed(config.seed)  # same initial weights on every process
    output_dir = Path(config.output_dir)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)

    model = EmoFacesNet(block_channels=tuple(config.block_channels), hidden_size=config.hidden_size,
                        image_size=config.image_size, dropout=config.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    # The prepared scheduler steps once per process per optimiser step (as in diffusers' scripts).
    scheduler = get_cosine_schedule_with_warmup(optimizer, config.lr_warmup_steps * accelerator.num_processes,
                                                config.max_train_steps * accelerator.num_processes)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    _, global_step = training.resume(accelerator, config.resume_from_checkpoint, output_dir)

    # Each process renders its own shard; chunk_size = batch size makes batches independent of the
    # worker count, and ``start`` skips exactly the batches already trained on.
    batch_size = config.train_batch_size
    micro_batches_done = global_step * config.gradient_accumulation_steps
    dataset = EmoFacesStills(split="train", size=config.image_size, seed=config.seed, kinds=config.kinds,
                             start=micro_batches_done * batch_size * accelerator.num_processes, chunk_size=batch_size,
                             rank=accelerator.process_index, world_size=accelerator.num_processes,
                             speaking=speaking_augmentation(config))
    # Its own generator: starting the loader must not draw from the global RNG that dropout uses and
    # that a checkpoint restores, or a resumed run would drift from an uninterrupted one.
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=config.dataloader_num_workers,
                                         persistent_workers=config.dataloader_num_workers > 0,
                                         generator=torch.Generator().manual_seed(config.seed))

    accelerator.print(f"EmoFacesNet: {sum(p.numel() for p in model.parameters()):,} parameters; "
                      f"{accelerator.num_processes} process(es) on {accelerator.device}; "
                      f"steps {global_step} -> {config.max_train_steps}")
    model.train()
    train_started, running = time.time(), {"loss": 0.0, "ce": 0.0, "va": 0.0, "n": 0}
    batches = iter(loader)
    micro_batch = micro_batches_done
    while global_step < config.max_train_steps:
        batch = {k: v.to(accelerator.device) for k, v in next(batches).items()}
        generator = torch.Generator().manual_seed(
            config.seed * 1_000_003 + micro_batch * accelerator.num_processes + accelerator.process_index)
        batch["pixel_values"] = augment(batch["pixel_values"], config, generator)
        micro_batch += 1
        with accelerator.accumulate(model):
            loss, parts = losses(model, batch, config)
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        running["loss"] += loss.item()
        running["ce"] += parts["ce"].item()
        running["va"] += parts["va"].item()
        running["n"] += 1
        if not accelerator.sync_gradients:
            continue
        global_step += 1
        if global_step % config.logging_steps == 0 or global_step == config.max_train_steps:
            n = running.pop("n")
            accelerator.print(f"step {global_step}/{config.max_train_steps} "
                              + " ".join(f"{k} {v / n:.4f}" for k, v in running.items())
                              + f" lr {scheduler.get_last_lr()[0]:.2e} {time.time() - train_started:.0f}s")
            running = {"loss": 0.0, "ce": 0.0, "va": 0.0, "n": 0}
        if config.validation_steps > 0 and global_step % config.validation_steps == 0 and accelerator.is_main_process:
            log_validation(accelerator.unwrap_model(model), config, accelerator, global_step)
        if global_step % config.checkpointing_steps == 0:
            training.save_checkpoint(accelerator, output_dir, global_step, config.checkpoints_total_limit)
    train_seconds = time.time() - train_started
    accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        final = accelerator.unwrap_model(model).to(torch.float32).eval()
        metrics = evaluate(final, config, accelerator.device)
        if _speaking_samples(config) > 0:
            metrics["speaking"] = evaluate_speaking(final, config, accelerator.device)
        metrics.update(_run_facts(config, accelerator, final, train_seconds))
        _save(final, config, metrics, output_dir, started)
        accelerator.print(json.dumps({k: v for k, v in metrics.items() if k != "confusion_matrix"}, indent=2))
    accelerator.wait_for_everyone()
    accelerator.end_training()


def _run_facts(config: ScorerTrainConfig, accelerator: Accelerator, model: EmoFacesNet, train_seconds: float) -> dict:
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "num_processes": accelerator.num_processes,
        "device": str(accelerator.device),
        "cpu_count": os.cpu_count(),
        "torch_version": torch.__version__,
        "train_seconds": train_seconds,
        "train_samples": config.max_train_steps * config.train_batch_size * accelerator.num_processes
        * config.gradient_accumulation_steps,
        "config": dataclasses.asdict(config),
    }


def _save(model: EmoFacesNet, config: ScorerTrainConfig, metrics: dict, output_dir: Path, started: float) -> None:
    """save_pretrained (fp32, and fp16 when its accuracy holds), metrics.json and the model card."""
    model.save_pretrained(output_dir)
    # The fp16 file is judged by what a user gets from it: its weights loaded (upcast) and evaluated.
    EmoFacesNet.from_pretrained(output_dir, torch_dtype=torch.float16).save_pretrained(output_dir, variant="fp16")
    half = EmoFacesNet.from_pretrained(output_dir, variant="fp16", torch_dtype=torch.float32)
    fp16 = evaluate(half.eval(), config, torch.device("cpu"))
    holds = fp16["top1_accuracy"] >= metrics["top1_accuracy"] - 0.002 and fp16["va_mae"] <= metrics["va_mae"] + 0.002
    if not holds:
        (output_dir / "diffusion_pytorch_model.fp16.safetensors").unlink()
    metrics["fp16"] = {"top1_accuracy": fp16["top1_accuracy"], "va_mae": fp16["va_mae"], "written": holds}
    metrics["total_seconds"] = time.time() - started
    if config.delete_checkpoints_at_end:
        training.delete_checkpoints(output_dir)
    command = training.launch_command("train/train_scorer.py", sys.argv[1:], metrics["num_processes"])
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (output_dir / "README.md").write_text(model_card(config, metrics, command))


if __name__ == "__main__":
    main()
