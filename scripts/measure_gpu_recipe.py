"""Measure the GPU recipe (docs/gpu_recipe.md) on one CUDA GPU: peak memory and seconds per step of
train/train_image.py on a Stable-Diffusion-1.5-layout model, for each train mode.

The weights are random (nothing can be downloaded on the machines this project is measured on), but
every component has SD1.5's released configuration, so parameter counts, activations and optimiser
state -- and with them the memory -- are those of the real model; the script checks the UNet's
859.5M parameters against SD1.5's. The data is a small EmoFaces imagefolder at 512 px (images are
decoded and resized as EmoSet's would be). Each configuration trains STEPS steps at the SD1.5 configs'
settings (fp16 mixed precision, SDPA attention, AdamW, EMA) in its own process, so each peak is its
own; the trainer writes the peak to metrics.json (``cuda_peak_allocated_gb``).

    python scripts/measure_gpu_recipe.py --out gpu_recipe.json [--steps 12] [--work /tmp/gpu-recipe]

Prints one line per configuration and writes them all as JSON.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SD15_UNET_PARAMETERS = 859_520_964  # stable-diffusion-v1-5's unet/diffusion_pytorch_model.safetensors

# (label, train_mode, batch per GPU, gradient checkpointing)
CONFIGURATIONS = [
    ("adapter only, batch 8, checkpointing", "adapter", 8, True),
    ("adapter only, batch 8, no checkpointing", "adapter", 8, False),
    ("LoRA rank 8 + adapter, batch 8, checkpointing", "lora", 8, True),
    ("full UNet + adapter, batch 8, checkpointing", "full", 8, True),
    ("full UNet + adapter, batch 1, checkpointing", "full", 1, True),
]


def sd15_layout(folder: Path) -> int:
    """Write a randomly initialised pipeline with SD1.5's component configurations to ``folder``;
    return the UNet's parameter count."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from emogen.image.tiny import tiny_tokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8)  # SD1.5's config
    vae = AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                        block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
                        sample_size=512)
    tokenizer = tiny_tokenizer(77)  # CLIP's BPE vocabulary is not needed for memory; the width is
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    for name, part in {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
                       "scheduler": scheduler}.items():
        part.save_pretrained(folder / name)
    return sum(p.numel() for p in unet.parameters())


def run(label: str, mode: str, batch: int, checkpointing: bool, model: Path, data: Path, work: Path,
        steps: int, extra: list[str]) -> dict:
    output = work / "runs" / label.replace(" ", "-").replace(",", "").replace("+", "plus")
    command = [sys.executable, str(ROOT / "train" / "train_image.py"),
               "--config", str(ROOT / "train" / "configs" / "image_sd15_emoset.yaml"),
               "--pretrained_model", str(model), "--dataset", "imagefolder", "--data_root", str(data),
               "--train_mode", mode, "--train_batch_size", str(batch),
               "--gradient_checkpointing", str(checkpointing).lower(), "--max_train_steps", str(steps),
               "--save_full_pipeline", str(mode == "full").lower(),
               "--lr_warmup_steps", "0", "--checkpointing_steps", str(10 * steps), "--validation_steps", "0",
               "--dataloader_num_workers", "4", "--report_to", "none", "--output_dir", str(output), *extra]
    started = time.time()
    finished = subprocess.run(command, capture_output=True, text=True)
    row = {"label": label, "train_mode": mode, "batch": batch, "gradient_checkpointing": checkpointing,
           "steps": steps, "returncode": finished.returncode, "wall_seconds": round(time.time() - started, 1)}
    if finished.returncode != 0:
        row["error"] = finished.stderr[-3000:]
        return row
    facts = json.loads((output / "metrics.json").read_text())
    row.update({key: facts.get(key) for key in ("trained_parameters", "cuda_peak_allocated_gb",
                                                 "cuda_peak_reserved_gb", "cuda_device_name", "train_seconds")})
    row["seconds_per_step"] = round(facts["train_seconds"] / steps, 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu-recipe"))
    parser.add_argument("--only", nargs="*", help="train modes to run (adapter, lora, full); default all")
    parser.add_argument("--check-on-cpu", action="store_true",
                        help="check the plumbing without a GPU: each train mode once, batch 1, 64 px, fp32")
    args = parser.parse_args()
    import torch

    extra = []
    if args.check_on_cpu:
        extra = ["--resolution", "64", "--mixed_precision", "no"]
    elif not torch.cuda.is_available():
        raise SystemExit("measure_gpu_recipe.py needs a CUDA GPU (torch.cuda.is_available() is False)")
    from emogen.data.emofaces import export_emofaces

    model, data = args.work / "sd15-layout-random", args.work / "data"
    parameters = sd15_layout(model)
    if parameters != SD15_UNET_PARAMETERS:
        raise SystemExit(f"the SD1.5-layout UNet has {parameters:,} parameters, SD1.5's has {SD15_UNET_PARAMETERS:,}: "
                         "its configuration no longer matches (a diffusers default changed?)")
    print(f"SD1.5-layout UNet: {parameters:,} parameters, as SD1.5's", flush=True)
    if not data.is_dir():
        export_emofaces(64, 512, data)
    rows = []
    modes_run = set()
    for label, mode, batch, checkpointing in CONFIGURATIONS:
        if (args.only and mode not in args.only) or (args.check_on_cpu and mode in modes_run):
            continue  # --check-on-cpu: the first configuration of each train mode, at batch 1
        modes_run.add(mode)
        if args.check_on_cpu:
            batch = 1
        row = run(label, mode, batch, checkpointing, model, data, args.work, args.steps, extra)
        rows.append(row)
        print(json.dumps(row), flush=True)
        args.out.write_text(json.dumps({"unet_parameters": parameters, "sd15_unet_parameters": SD15_UNET_PARAMETERS,
                                        "torch": torch.__version__, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
