"""Finding and loading an image model: a full pipeline folder, an adapter-only training output, or a hub id.

Two on-disk formats:

- a full pipeline folder (``model_index.json`` + component folders), as ``save_pretrained`` writes;
  a stock Stable Diffusion folder is one too (it gets a fresh, untrained emotion adapter);
- an adapter-only training output: ``emogen_image.json`` = ``{"base_model": folder or hub id, "lora":
  "unet_lora" or null}``, the trained ``emotion_adapter/`` and optionally ``unet_lora/`` (a UNet LoRA as
  ``unet.save_lora_adapter`` writes it). It stays small: the base model is not copied.

Anything else that is not a folder is taken for a Hugging Face hub id.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler, PNDMScheduler

from emogen.errors import EmotionError
from emogen.image.adapter import EmotionAdapter
from emogen.image.pipeline import EmotionDiffusionPipeline

DEFAULT_IMAGE_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "emofaces-image"
MODEL_ENV = "EMOGEN_IMAGE_MODEL"

PIPELINE_INDEX = "model_index.json"
ADAPTER_ONLY_CONFIG = "emogen_image.json"
ADAPTER_FOLDER = "emotion_adapter"
LORA_FOLDER = "unet_lora"
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"  # the name unet.save_lora_adapter gives its file
LORA_ADAPTER_NAME = "emogen"
# What the model's trainer recommends for sampling (steps, guidance): a small model trained from scratch
# wants a lower guidance scale than Stable Diffusion's 7.5. The CLI uses it unless told otherwise.
SAMPLING_FILE = "emogen_sampling.json"
FP16_VARIANT = "fp16"

# --scheduler names; each is built from the loaded pipeline's scheduler config (same betas and spacing).
SCHEDULERS = {
    "ddim": DDIMScheduler,
    "ddpm": DDPMScheduler,
    "dpm": DPMSolverMultistepScheduler,
    "euler": EulerDiscreteScheduler,
    "pndm": PNDMScheduler,
}

# "owner/name" or "name": what a hub id looks like (a path with more parts, or starting with / . ~, does not).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def default_image_model() -> str:
    """``$EMOGEN_IMAGE_MODEL``, else the shipped ``checkpoints/emofaces-image``."""
    return os.environ.get(MODEL_ENV) or str(DEFAULT_IMAGE_MODEL)


def load_image_pipeline(
    model: str | os.PathLike | None = None,
    device: str = "cpu",
    torch_dtype=None,
    local_files_only: bool | None = None,
) -> EmotionDiffusionPipeline:
    """Load ``model`` (default: `default_image_model`) onto ``device``; bad input raises EmotionError.

    ``local_files_only`` goes to every ``from_pretrained`` (None: the libraries' default, which honours
    ``HF_HUB_OFFLINE``).
    """
    model = default_image_model() if model is None else model
    options = {"torch_dtype": torch_dtype}
    if local_files_only is not None:
        options["local_files_only"] = local_files_only
    return _load(model, options).to(device)


def _load(model: str | os.PathLike, options: dict, **components) -> EmotionDiffusionPipeline:
    """A folder of either format, or a hub id; ``components`` (a base model's emotion adapter) replace
    the loaded ones."""
    path = Path(model).expanduser()
    if path.is_dir():
        if (path / PIPELINE_INDEX).is_file():
            _check_components(path, given=components)
            return _from_pretrained(path, options, **components)
        if (path / ADAPTER_ONLY_CONFIG).is_file() and not components:
            return _load_adapter_only(path, options)
        raise EmotionError(
            f"{path} is not an image model: it has neither {PIPELINE_INDEX} (a full pipeline folder) nor "
            f"{ADAPTER_ONLY_CONFIG} (an adapter-only training output)"
        )
    if path.exists():
        raise EmotionError(f"image model {model} is a file; give a model folder or a hub id")
    if _HUB_ID.match(str(model)) and not path.is_absolute():
        return _from_pretrained(str(model), options, **components)
    hint = f"; train one, or pass --model / set {MODEL_ENV}" if path == DEFAULT_IMAGE_MODEL else ""
    raise EmotionError(f"no image model at {model}: no such folder{hint}")


def _check_components(folder: Path, given: dict) -> None:
    """Name a component folder that model_index.json lists but the folder lacks (diffusers' own error
    names neither the component nor its folder)."""
    index_path = folder / PIPELINE_INDEX
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EmotionError(f"{index_path} is not readable JSON: {err}") from None
    if not isinstance(index, dict):
        raise EmotionError(f"{index_path} must hold a JSON object, got {type(index).__name__}")
    for name, entry in index.items():
        listed = isinstance(entry, list) and len(entry) == 2 and None not in entry  # [null, null]: left out
        if not name.startswith("_") and listed and name not in given and not (folder / name).is_dir():
            raise EmotionError(f"image model {folder} is missing {name}/ (listed in {PIPELINE_INDEX})")


def _from_pretrained(model: str | Path, options: dict, **components) -> EmotionDiffusionPipeline:
    if isinstance(model, Path) and _fp16_only(model):
        # Weights stored in half precision only (``save_pretrained(variant="fp16")``): loaded and upcast
        # to float32 unless a dtype is asked for, since CPUs run fp16 convolutions slowly or not at all.
        options = {**options, "variant": FP16_VARIANT, "torch_dtype": options.get("torch_dtype") or torch.float32}
    try:
        return EmotionDiffusionPipeline.from_pretrained(model, **options, **components)
    except EmotionError:
        raise  # already says what is wrong (an adapter that does not fit the UNet)
    # Loading fails in many ways (OSError, ValueError, hub HTTP errors, KeyError on a broken index, ...);
    # each means this model cannot be used, and the user needs the model's name with the reason.
    except Exception as err:  # noqa: BLE001
        if isinstance(model, Path):
            raise EmotionError(f"cannot load the image model in {model}: {_first_line(err)}") from err
        raise EmotionError(
            f"cannot load image model {model!r}: it is neither a local folder with {PIPELINE_INDEX} or "
            f"{ADAPTER_ONLY_CONFIG} nor a reachable hub id ({_first_line(err)})"
        ) from err


def _fp16_only(folder: Path) -> bool:
    """The UNet's weights exist only as the fp16 variant (no plain weights file beside them)."""
    unet = folder / "unet"
    return any(unet.glob(f"*.{FP16_VARIANT}.safetensors")) and not any(
        path for path in unet.glob("*.safetensors") if f".{FP16_VARIANT}." not in path.name)


def _load_adapter_only(folder: Path, options: dict) -> EmotionDiffusionPipeline:
    config_path = folder / ADAPTER_ONLY_CONFIG
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EmotionError(f"{config_path} is not readable JSON: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("base_model"), str) or not config["base_model"]:
        raise EmotionError(f'{config_path} must hold {{"base_model": folder or hub id, "lora": "{LORA_FOLDER}" or null}}')
    lora = config.get("lora")
    if lora is not None and not isinstance(lora, str):
        raise EmotionError(f'{config_path}: "lora" must be a folder name or null, got {lora!r}')
    for required in [f"{ADAPTER_FOLDER}/config.json"] + ([f"{lora}/{LORA_WEIGHTS}"] if lora else []):
        if not (folder / required).is_file():
            raise EmotionError(f"adapter-only image model {folder} is missing {required}")

    try:
        adapter = EmotionAdapter.from_pretrained(folder / ADAPTER_FOLDER, **options)
    except Exception as err:  # noqa: BLE001  (as in _from_pretrained: any failure means an unusable folder)
        raise EmotionError(f"cannot load {folder / ADAPTER_FOLDER}: {_first_line(err)}") from err
    base = config["base_model"]
    # A relative base folder is looked up beside the output first, so that the two can move together.
    beside = folder / base
    pipeline = _load(beside if beside.is_dir() else base, options, emotion_adapter=adapter)
    if lora:
        try:
            pipeline.unet.load_lora_adapter(
                str(folder / lora), prefix=None, adapter_name=LORA_ADAPTER_NAME, weight_name=LORA_WEIGHTS,
                local_files_only=True,
            )
        except Exception as err:  # noqa: BLE001  (peft/diffusers raise ValueError, KeyError, RuntimeError, ...)
            raise EmotionError(f"cannot apply the UNet LoRA in {folder / lora} to {base}: {_first_line(err)}") from err
    return pipeline


def recommended_sampling(model: str | os.PathLike) -> dict:
    """``{"num_inference_steps": ..., "guidance_scale": ...}`` (video models also ``"noise_correlation"`` and
    ``"emotion_scale"``) from the model folder's SAMPLING_FILE, or {}."""
    path = Path(model).expanduser() / SAMPLING_FILE
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EmotionError(f"{path} is not readable JSON: {err}") from None
    accepted = {"num_inference_steps": int, "guidance_scale": (int, float), "noise_correlation": (int, float),
                "emotion_scale": (int, float)}
    return {key: value for key, value in values.items() if key in accepted and isinstance(value, accepted[key])}


def save_pipeline(pipeline, folder: str | os.PathLike, fp16: bool) -> None:
    """``save_pretrained`` of a trained pipeline, as the fp16 variant when ``fp16`` (what the shipped
    checkpoints store); the pipeline is float32 again afterwards either way."""
    if fp16:
        pipeline.to(torch.float16).save_pretrained(folder, variant=FP16_VARIANT)
        pipeline.to(torch.float32)
    else:
        pipeline.save_pretrained(folder)


def save_adapter_only(folder: str | os.PathLike, emotion_adapter: EmotionAdapter, base_model: str, unet=None) -> Path:
    """Write the adapter-only format: ``emotion_adapter/``, ``unet_lora/`` when ``unet`` carries a peft
    LoRA adapter, and ``emogen_image.json`` last, so that a folder without it is visibly incomplete."""
    folder = Path(folder)
    emotion_adapter.save_pretrained(folder / ADAPTER_FOLDER)
    lora = None
    if unet is not None and getattr(unet, "peft_config", None):
        unet.save_lora_adapter(folder / LORA_FOLDER, adapter_name=next(iter(unet.peft_config)), weight_name=LORA_WEIGHTS)
        lora = LORA_FOLDER
    (folder / ADAPTER_ONLY_CONFIG).write_text(json.dumps({"base_model": str(base_model), "lora": lora}, indent=2) + "\n")
    return folder


def scheduler_class(name: str):
    """The diffusers scheduler class for a --scheduler name; EmotionError listing the accepted names."""
    if name not in SCHEDULERS:
        raise EmotionError(f"unknown scheduler {name!r}; accepted: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name]


def set_scheduler(pipeline: EmotionDiffusionPipeline, name: str) -> None:
    """Swap in the named scheduler, built from the pipeline's own scheduler config."""
    pipeline.scheduler = scheduler_class(name).from_config(pipeline.scheduler.config)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
