"""Finding and loading a video model. Three kinds of folder (each a diffusers ``model_index.json`` folder):

- an emogen video pipeline (``EmotionVideoPipeline``, as ``save_pretrained`` and train/train_video.py write);
- a real AnimateDiff-layout folder (``AnimateDiffPipeline``: ``unet/`` a UNetMotionModel, or a
  UNet2DConditionModel plus ``motion_adapter/``; ``vae/``, ``text_encoder/``, ``tokenizer/``,
  ``scheduler/``): loaded component by component with a fresh, untrained emotion adapter (or its
  ``emotion_adapter/`` if it has one);
- an image model (anything `emogen.image.loading.load_image_pipeline` loads: an emogen image pipeline,
  a Stable Diffusion folder, an adapter-only output): its UNet animated with fresh motion modules that
  add nothing yet (every frame is then what the image model draws), which is where train_video.py starts.

Bad input raises EmotionError naming the model and what is wrong.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, MotionAdapter, UNet2DConditionModel, UNetMotionModel
from transformers import CLIPTextModel, CLIPTokenizer

from emogen.errors import EmotionError
from emogen.image.adapter import EmotionAdapter
from emogen.image.loading import FP16_VARIANT, PIPELINE_INDEX, _first_line, _fp16_only, load_image_pipeline
from emogen.video.pipeline import EmotionVideoPipeline
from emogen.video.unet import motion_adapter_for, motion_unet

DEFAULT_VIDEO_MODEL = Path(__file__).resolve().parents[2] / "checkpoints" / "emofaces-video"
MODEL_ENV = "EMOGEN_VIDEO_MODEL"
ANIMATEDIFF_CLASSES = ("AnimateDiffPipeline", "AnimateDiffVideoToVideoPipeline")
logger = logging.getLogger(__name__)


def default_video_model() -> str:
    """``$EMOGEN_VIDEO_MODEL``, else the shipped ``checkpoints/emofaces-video``."""
    return os.environ.get(MODEL_ENV) or str(DEFAULT_VIDEO_MODEL)


def load_video_pipeline(
    model: str | os.PathLike | None = None,
    device: str = "cpu",
    torch_dtype=None,
    local_files_only: bool | None = None,
    motion_num_attention_heads: int = 4,
    motion_max_seq_length: int = 32,
) -> EmotionVideoPipeline:
    """Load ``model`` (default: `default_video_model`) onto ``device``. The motion settings shape the
    fresh motion modules an image model gets."""
    model = default_video_model() if model is None else model
    options = {"torch_dtype": torch_dtype}
    if local_files_only is not None:
        options["local_files_only"] = local_files_only
    path = Path(model).expanduser()
    index = _read_index(path) if (path / PIPELINE_INDEX).is_file() else {}
    name = index.get("_class_name")
    if name == EmotionVideoPipeline.__name__:
        pipeline = _from_pretrained(path, options)
    elif name in ANIMATEDIFF_CLASSES:
        pipeline = _from_animatediff(path, options)
    else:
        if not path.exists() and path == DEFAULT_VIDEO_MODEL:
            raise EmotionError(f"no video model at {model}: train one (train/train_video.py), or pass --model / set {MODEL_ENV}")
        image = load_image_pipeline(model, torch_dtype=torch_dtype, local_files_only=local_files_only)
        logger.warning("%s is an image model: animating it with fresh motion modules (no motion until trained)", model)
        unet = motion_unet(image.unet, motion_adapter_for(image.unet, motion_num_attention_heads, motion_max_seq_length))
        pipeline = EmotionVideoPipeline(unet=unet, vae=image.vae, text_encoder=image.text_encoder,
                                        tokenizer=image.tokenizer, scheduler=image.scheduler,
                                        emotion_adapter=image.emotion_adapter)
    return pipeline.to(device)


def _read_index(path: Path) -> dict:
    try:
        index = json.loads((path / PIPELINE_INDEX).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise EmotionError(f"{path / PIPELINE_INDEX} is not readable JSON: {err}") from None
    if not isinstance(index, dict):
        raise EmotionError(f"{path / PIPELINE_INDEX} must hold a JSON object")
    return index


def _from_pretrained(path: Path, options: dict) -> EmotionVideoPipeline:
    if _fp16_only(path):
        # Stored in half precision only: upcast to float32 unless a dtype is asked for (CPUs run fp16 slowly).
        options = {**options, "variant": FP16_VARIANT, "torch_dtype": options.get("torch_dtype") or torch.float32}
    try:
        return EmotionVideoPipeline.from_pretrained(path, **options)
    except EmotionError:
        raise
    except Exception as err:  # noqa: BLE001  (any loading failure means an unusable folder; say which and why)
        raise EmotionError(f"cannot load the video model in {path}: {_first_line(err)}") from err


def _scheduler_class(path: Path):
    """The scheduler class the folder's scheduler_config.json names (DDIM if it names none we know)."""
    import diffusers

    name = json.loads((path / "scheduler" / "scheduler_config.json").read_text()).get("_class_name", "")
    return getattr(diffusers, name, None) or diffusers.DDIMScheduler


def _from_animatediff(path: Path, options: dict) -> EmotionVideoPipeline:
    """An AnimateDiff folder, component by component, as AnimateDiffPipeline would assemble it."""
    try:
        dtype = {"torch_dtype": options["torch_dtype"]} if options.get("torch_dtype") else {}
        local = {k: v for k, v in options.items() if k == "local_files_only"}
        unet_config = json.loads((path / "unet" / "config.json").read_text())
        if unet_config.get("_class_name") == UNet2DConditionModel.__name__:
            unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", **dtype, **local)
            adapter = MotionAdapter.from_pretrained(path, subfolder="motion_adapter", **dtype, **local)
            unet = motion_unet(unet, adapter)
        else:
            unet = UNetMotionModel.from_pretrained(path, subfolder="unet", **dtype, **local)
        components = {
            "unet": unet,
            "vae": AutoencoderKL.from_pretrained(path, subfolder="vae", **dtype, **local) if (path / "vae").is_dir() else None,
            "text_encoder": CLIPTextModel.from_pretrained(path, subfolder="text_encoder", **dtype, **local),
            "tokenizer": CLIPTokenizer.from_pretrained(path, subfolder="tokenizer", **local),
            "scheduler": _scheduler_class(path).from_pretrained(path, subfolder="scheduler", **local),
            "emotion_adapter": (EmotionAdapter.from_pretrained(path, subfolder="emotion_adapter", **dtype, **local)
                                if (path / "emotion_adapter").is_dir() else None),
        }
    except EmotionError:
        raise
    except Exception as err:  # noqa: BLE001
        raise EmotionError(f"cannot load the AnimateDiff model in {path}: {_first_line(err)}") from err
    if components["emotion_adapter"] is None:
        logger.warning("%s has no emotion_adapter: created a fresh one; emotions change nothing until it is trained", path)
    return EmotionVideoPipeline(**components)
