"""What every ``train/*.py`` script shares: typed configs from YAML + CLI overrides, and ``checkpoint-N`` folders.

Configs are dataclasses. ``parse_config(Config, argv)`` reads ``--config FILE`` (YAML), then any
``--key value`` / ``--key=value`` overrides (values read as YAML, so ``--block_channels "[16, 32]"``
works) and refuses unknown keys by name.

Checkpoints are written as ``checkpoint-N.partial`` and renamed to ``checkpoint-N`` once complete, so a
run killed while saving leaves no folder that ``--resume_from_checkpoint latest`` could pick up
half-written.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import sys
from pathlib import Path
from typing import Callable, TypeVar

import yaml

from emogen.errors import EmotionError

CHECKPOINT_PREFIX = "checkpoint-"
PARTIAL_SUFFIX = ".partial"

ConfigT = TypeVar("ConfigT")


def run_trainer(config_class: type[ConfigT], train: Callable[[ConfigT], None], argv: list[str] | None,
                description: str, script: str) -> None:
    """A trainer's ``main``: the config from ``argv`` (default: the command line), its ``check()``, then
    ``train(config)``. A bad setting, dataset or model (EmotionError) exits with one line naming
    ``script``, not a traceback."""
    config = parse_config(config_class, sys.argv[1:] if argv is None else argv, description)
    try:
        config.check()
        train(config)
    except EmotionError as err:
        raise SystemExit(f"{script}: error: {err}") from None


def parse_config(config_class: type[ConfigT], argv: list[str], description: str = "") -> ConfigT:
    """``--config FILE`` then ``--key value`` / ``--key=value`` overrides, values read as YAML."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", help=f"YAML file with {config_class.__name__} fields")
    known, rest = parser.parse_known_args(argv)
    values: dict = {}
    if known.config:
        path = Path(known.config)
        if not path.is_file():
            parser.error(f"--config {path}: no such file")
        values.update(yaml.safe_load(path.read_text()) or {})
    field_types = {f.name: f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
                   for f in dataclasses.fields(config_class)}
    index = 0
    while index < len(rest):
        token = rest[index]
        if not token.startswith("--"):
            parser.error(f"expected --key value, got {token!r}")
        key, eq, text = token[2:].partition("=")
        if not eq:
            if index + 1 >= len(rest):
                parser.error(f"{token} needs a value")
            index += 1
            text = rest[index]
        name = key.replace("-", "_")
        values[name] = _cli_value(field_types.get(name), text)
        index += 1
    unknown = sorted(set(values) - set(field_types))
    if unknown:
        parser.error(f"unknown settings {unknown}; accepted: {', '.join(sorted(field_types))}")
    config = config_class(**values)
    if getattr(config, "resume_from_checkpoint", None) is not None:
        config.resume_from_checkpoint = str(config.resume_from_checkpoint)
    return config


def _cli_value(field_type: str | None, text: str):
    """A command-line value read as YAML, except where YAML 1.1 misreads what the setting's type
    (``field_type``, as written in the config class; None for an unknown setting) says: a string
    setting keeps its text (YAML reads ``--mixed_precision no`` as False and
    ``--resume_from_checkpoint 500`` as 500), and a float setting takes ``1e-4`` as a number (YAML 1.1
    wants ``1.0e-4``)."""
    value = yaml.safe_load(text)
    if field_type in ("str", "str | None") and value is not None and not isinstance(value, str):
        return text
    if field_type in ("float", "float | None") and isinstance(value, str):
        try:
            return float(text)
        except ValueError:
            return value  # the config's check() names the bad value
    return value


def checkpoint_steps(output_dir: Path) -> list[int]:
    """Steps of the complete ``checkpoint-N`` folders in ``output_dir``, oldest first."""
    if not output_dir.is_dir():
        return []
    return sorted(int(m[1]) for p in output_dir.iterdir() if (m := re.fullmatch(rf"{CHECKPOINT_PREFIX}(\d+)", p.name)))


def rotate_checkpoints(output_dir: Path, keep: int) -> None:
    """Delete the oldest checkpoints so that ``keep - 1`` remain (room for the one about to be written)."""
    steps = checkpoint_steps(output_dir)
    for step in steps[: max(0, len(steps) - keep + 1)]:
        shutil.rmtree(output_dir / f"{CHECKPOINT_PREFIX}{step}")


def delete_checkpoints(output_dir: Path) -> None:
    """Remove every ``checkpoint-N`` folder once the final model is saved (``delete_checkpoints_at_end``)."""
    for step in checkpoint_steps(output_dir):
        shutil.rmtree(output_dir / f"{CHECKPOINT_PREFIX}{step}")


def launch_command(script: str, argv: list[str], num_processes: int) -> str:
    """The command that reproduces a run, for its model card: ``accelerate launch [--num_processes N] script argv``."""
    import shlex

    launch = "accelerate launch" + (f" --num_processes {num_processes}" if num_processes > 1 else "")
    return f"{launch} {shlex.join([script, *argv])}"


def save_checkpoint(accelerator, output_dir: Path, step: int, keep: int | None = None) -> Path:
    """``accelerator.save_state`` into ``checkpoint-{step}.partial``, renamed to ``checkpoint-{step}`` once
    every process has written its part; with ``keep`` (``checkpoints_total_limit``), the oldest are
    deleted first so that ``keep`` remain with it. Call it on every process."""
    final = output_dir / f"{CHECKPOINT_PREFIX}{step}"
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    if accelerator.is_main_process:
        if keep is not None:
            rotate_checkpoints(output_dir, keep)
        shutil.rmtree(partial, ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    accelerator.wait_for_everyone()
    return final


def resume_path(resume_from_checkpoint: str | None, output_dir: Path) -> Path | None:
    """The checkpoint folder to resume from: ``latest`` in ``output_dir`` (None when there is none yet),
    or a given folder."""
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint == "latest":
        steps = checkpoint_steps(output_dir)
        return output_dir / f"{CHECKPOINT_PREFIX}{steps[-1]}" if steps else None
    path = Path(resume_from_checkpoint)
    if not path.is_dir():
        raise SystemExit(f"--resume_from_checkpoint {path}: no such checkpoint folder")
    return path


def resume(accelerator, resume_from_checkpoint: str | None, output_dir: Path) -> tuple[Path | None, int]:
    """``--resume_from_checkpoint`` carried out: the checkpoint (``resume_path``) with its state loaded into
    ``accelerator`` and its step, or (None, 0) for a new run; both said in the log."""
    checkpoint = resume_path(resume_from_checkpoint, output_dir)
    if checkpoint is None:
        if resume_from_checkpoint is not None:
            accelerator.print(f"no checkpoint in {output_dir}; starting a new run")
        return None, 0
    accelerator.load_state(str(checkpoint))
    step = checkpoint_step(checkpoint)
    accelerator.print(f"resumed from {checkpoint} at step {step}")
    return checkpoint, step


def checkpoint_step(path: Path) -> int:
    return int(path.name.removeprefix(CHECKPOINT_PREFIX))


def make_accelerator(config, output_dir: Path):
    """The Accelerator the trainers build (CPU when there is no CUDA), with their thread count and output
    folder. ``config`` needs ``mixed_precision``, ``report_to`` and ``torch_threads``; a config without
    ``gradient_accumulation_steps`` accumulates nothing. accelerate and torch are imported here, so that
    config parsing stays importable without them."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import ProjectConfiguration

    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),
        mixed_precision=config.mixed_precision,
        gradient_accumulation_steps=getattr(config, "gradient_accumulation_steps", 1),
        log_with=None if config.report_to == "none" else config.report_to,
        project_config=ProjectConfiguration(project_dir=str(output_dir), logging_dir=str(output_dir / "logs")),
    )
    if config.torch_threads > 0:
        torch.set_num_threads(config.torch_threads)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
    return accelerator
