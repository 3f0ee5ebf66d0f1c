"""Coqui VITS model folders: the tiny architecture built in code, saving and loading, word times from durations.

A model folder is what Coqui releases and its trainer writes: ``config.json`` plus the weights
(``model.pth``, ``model_file.pth``, ``best_model.pth`` or a single other ``*.pth``). emogen's trainer
adds ``emotion_conditioning/`` (emogen.speech.emotion_conditioning: d-vectors from speaker + emotion)
and ``emogen_tts.json`` (how it was trained). Any VITS folder loads; only one with
``emotion_conditioning/`` has learned emotion.

The tiny architecture (``tiny_vits_config``) exists so that training runs in about a second per step on
a CPU: every VITS part is kept (text encoder, posterior encoder, flow, duration predictor, HiFi-GAN
decoder, multi-scale + multi-period discriminator), with a few channels each. Coqui's discriminator has
fixed widths (22 M parameters, most of a tiny model's step time), so the tiny one is built here with
the same structure and interface at a fraction of the width.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from emogen.errors import EmotionError
from emogen.io import atomic_output
from emogen.speech.coqui_runtime import import_coqui
from emogen.speech.emotion_conditioning import FOLDER as CONDITIONING_FOLDER
from emogen.speech.emotion_conditioning import EmotionConditioning

import_coqui()
from TTS.config import load_config  # noqa: E402
from TTS.config.shared_configs import BaseAudioConfig  # noqa: E402
from TTS.tts.configs.vits_config import VitsArgs, VitsConfig  # noqa: E402
from TTS.tts.layers.vits.discriminator import DiscriminatorS, VitsDiscriminator  # noqa: E402
from TTS.tts.models import setup_model  # noqa: E402
from TTS.vocoder.models.hifigan_discriminator import DiscriminatorP  # noqa: E402

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.pth"
WEIGHT_NAMES = ("model.pth", "model_file.pth", "best_model.pth")
TRAINING_FILE = "emogen_tts.json"
DISCRIMINATORS = ("vits", "tiny")


def tiny_vits_config(sample_rate: int = 16000, d_vector_dim: int = 64, width: int = 32) -> VitsConfig:
    """A small VITS on characters (no phonemiser needed), conditioned on a ``d_vector_dim`` d-vector."""
    audio = BaseAudioConfig(sample_rate=sample_rate, fft_size=1024, win_length=1024, hop_length=256, num_mels=80,
                            mel_fmin=0.0, mel_fmax=None, do_trim_silence=False)
    args = VitsArgs(
        hidden_channels=width, hidden_channels_ffn_text_encoder=2 * width, num_heads_text_encoder=2,
        num_layers_text_encoder=2, num_layers_posterior_encoder=4, num_layers_flow=2, kernel_size_flow=3,
        resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3]],
        upsample_rates_decoder=[8, 8, 4], upsample_kernel_sizes_decoder=[16, 16, 8],
        upsample_initial_channel_decoder=2 * width, periods_multi_period_discriminator=[2, 3, 5],
        use_sdp=False, spec_segment_size=16, use_d_vector_file=True, d_vector_dim=d_vector_dim,
    )
    return VitsConfig(audio=audio, model_args=args, use_phonemes=False, text_cleaner="english_cleaners",
                      add_blank=True, use_d_vector_file=True, d_vector_dim=d_vector_dim)


def with_d_vectors(config: VitsConfig, d_vector_dim: int) -> VitsConfig:
    """``config`` (e.g. a released single-speaker VITS) switched to d-vector conditioning of that size."""
    for holder in (config, config.model_args):
        holder.use_d_vector_file = True
        holder.d_vector_dim = d_vector_dim
        holder.use_speaker_embedding = False
        holder.d_vector_file = None
    return config


class _TinyScale(DiscriminatorS):
    """Coqui's scale discriminator (strided grouped 1-D convolutions) at ``width`` channels."""

    def __init__(self, width: int):
        nn.Module.__init__(self)
        norm = nn.utils.parametrizations.weight_norm
        w = width
        self.convs = nn.ModuleList([
            norm(nn.Conv1d(1, w, 15, 1, padding=7)),
            norm(nn.Conv1d(w, 2 * w, 41, 4, groups=4, padding=20)),
            norm(nn.Conv1d(2 * w, 4 * w, 41, 4, groups=16, padding=20)),
            norm(nn.Conv1d(4 * w, 4 * w, 5, 1, padding=2)),
        ])
        self.conv_post = norm(nn.Conv1d(4 * w, 1, 3, 1, padding=1))


class _TinyPeriod(DiscriminatorP):
    """Coqui's period discriminator (the waveform folded by ``period``, 2-D convolutions) at ``width`` channels."""

    def __init__(self, period: int, width: int):
        nn.Module.__init__(self)
        norm = nn.utils.parametrizations.weight_norm
        self.period = period
        w = width
        self.convs = nn.ModuleList([
            norm(nn.Conv2d(1, w, (5, 1), (3, 1), padding=(2, 0))),
            norm(nn.Conv2d(w, 2 * w, (5, 1), (3, 1), padding=(2, 0))),
            norm(nn.Conv2d(2 * w, 4 * w, (5, 1), (3, 1), padding=(2, 0))),
            norm(nn.Conv2d(4 * w, 4 * w, (5, 1), 1, padding=(2, 0))),
        ])
        self.conv_post = norm(nn.Conv2d(4 * w, 1, (3, 1), 1, padding=(1, 0)))


class TinyVitsDiscriminator(VitsDiscriminator):
    """VitsDiscriminator's structure (one scale + one per period) and forward, with ``width`` channels."""

    def __init__(self, periods: Sequence[int] = (2, 3, 5), width: int = 16):
        nn.Module.__init__(self)
        self.nets = nn.ModuleList([_TinyScale(width), *[_TinyPeriod(p, width) for p in periods]])


def build_vits(config: VitsConfig, discriminator: str = "vits"):
    """A Vits from ``config`` (its tokenizer from the config's characters); ``discriminator``: vits | tiny."""
    if discriminator not in DISCRIMINATORS:
        raise EmotionError(f"unknown discriminator {discriminator!r}; accepted: {', '.join(DISCRIMINATORS)}")
    if config.model != "vits":
        raise EmotionError(f"this is a {config.model!r} model; only VITS is trained here")
    config.model_args.init_discriminator = discriminator == "vits"
    model = setup_model(config)
    if discriminator == "tiny":
        model.disc = TinyVitsDiscriminator(config.model_args.periods_multi_period_discriminator)
    config.model_args.init_discriminator = True  # what a reader of the saved config.json rebuilds
    return model


def find_weights(folder: Path) -> Path:
    """The weights file of a Coqui model folder; EmotionError naming the folder and what it lacks."""
    for name in WEIGHT_NAMES:
        if (folder / name).is_file():
            return folder / name
    others = sorted(folder.glob("*.pth"))
    if len(others) == 1:
        return others[0]
    found = ", ".join(p.name for p in others) or "no .pth file"
    raise EmotionError(f"Coqui model folder {folder} has {found}; expected one of {', '.join(WEIGHT_NAMES)} "
                       "(or a single .pth file) beside config.json")


def read_config(folder: str | Path):
    """The Coqui config of the model folder ``folder`` (EmotionError when it is not one)."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file():
        raise EmotionError(f"{str(folder)!r} is not a Coqui model folder: it has no {CONFIG_FILE} "
                           "(expected config.json plus the model's .pth weights)")
    try:
        return load_config(str(folder / CONFIG_FILE))
    except Exception as err:  # Coqui raises several kinds for a config it cannot read
        raise EmotionError(f"{folder / CONFIG_FILE} is not a Coqui config Coqui can read ({type(err).__name__}: "
                           f"{str(err)[:200]})") from None


@dataclass
class LoadedVits:
    model: nn.Module  # TTS.tts.models.vits.Vits, in eval mode
    config: VitsConfig
    conditioning: EmotionConditioning | None  # None: a VITS without emogen's emotion conditioning
    training: dict  # emogen_tts.json, {} for other folders


def load_vits(folder: str | Path, with_discriminator: bool = False) -> LoadedVits:
    """A VITS model folder (see the module doc). Without the discriminator unless asked (inference needs none)."""
    folder = Path(folder)
    config = read_config(folder)
    if config.model != "vits":
        raise EmotionError(f"{folder} holds a {config.model!r} model; a VITS folder was expected here")
    weights = find_weights(folder)
    training = json.loads((folder / TRAINING_FILE).read_text()) if (folder / TRAINING_FILE).is_file() else {}
    if with_discriminator:
        model = build_vits(config, training.get("discriminator", "vits"))
    else:
        config.model_args.init_discriminator = False
        model = setup_model(config)
    state = torch.load(weights, map_location="cpu", weights_only=False)  # Coqui's .pth files hold more than tensors
    state = state.get("model", state)
    keep = {k: v for k, v in state.items() if "speaker_encoder" not in k and (with_discriminator or not k.startswith("disc."))}
    missing, unexpected = model.load_state_dict(keep, strict=False)
    if missing or unexpected:
        raise EmotionError(f"{weights} does not fit {folder / CONFIG_FILE}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    conditioning = None
    if (folder / CONDITIONING_FOLDER).is_dir():
        conditioning = EmotionConditioning.from_pretrained(folder / CONDITIONING_FOLDER)
        conditioning.eval()
    model.eval()
    return LoadedVits(model, config, conditioning, training)


def save_vits(folder: str | Path, model: nn.Module, config: VitsConfig, conditioning: EmotionConditioning | None,
              training: dict, discriminator: nn.Module | None = None) -> Path:
    """Write a model folder that ``load_vits`` (and Coqui) reads; each file atomically, the conditioning
    folder renamed into place once complete. ``discriminator``: one trained apart from ``model`` (saved as
    its ``disc.``, where Coqui keeps it, so that fine-tuning can go on from the folder)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    if discriminator is not None:
        state.update({f"disc.{k}": v.detach().cpu() for k, v in discriminator.state_dict().items()})
    with atomic_output(folder / WEIGHTS_FILE) as temporary:
        torch.save({"model": state}, temporary)
    with atomic_output(folder / CONFIG_FILE) as temporary:
        temporary.write_text(config.to_json(), encoding="utf-8")
    with atomic_output(folder / TRAINING_FILE) as temporary:
        temporary.write_text(json.dumps(training, indent=2) + "\n", encoding="utf-8")
    if conditioning is not None:
        partial = folder / (CONDITIONING_FOLDER + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        conditioning.save_pretrained(partial)
        shutil.rmtree(folder / CONDITIONING_FOLDER, ignore_errors=True)
        partial.rename(folder / CONDITIONING_FOLDER)
    return folder


# ----- word times from the duration predictor -----------------------------------------------------------
PHRASE_END = set(",.;:!?¡¿—…")
STRESS_MARKS = {"ˈ", "ˌ"}


def token_symbols(model, token_ids: Sequence[int]) -> list[str]:
    characters = model.tokenizer.characters
    return [characters.id_to_char(int(i)) for i in token_ids]


def word_groups(symbols: Sequence[str], frames: Sequence[float], blank: str | None, seconds_per_frame: float):
    """From per-token frame counts: phrases of (start, end) per spoken word (space-separated tokens; a
    punctuation token ends a phrase), and the (symbol, start, end) of every spoken token."""
    groups, tokens = [[]], []
    position, word_start, word_end = 0.0, None, None
    for symbol, count in zip(symbols, frames):
        start, position = position, position + float(count) * seconds_per_frame
        if symbol == blank or symbol in ("<PAD>", "<BOS>", "<EOS>"):
            continue
        if symbol == " " or symbol in PHRASE_END:
            if word_start is not None:
                groups[-1].append((word_start, word_end))
                word_start = None
            if symbol in PHRASE_END and groups[-1]:
                groups.append([])
            continue
        if word_start is None:
            word_start = start
        word_end = position
        if symbol not in STRESS_MARKS:  # they carry no sound of their own
            tokens.append((symbol, start, position))
    if word_start is not None:
        groups[-1].append((word_start, word_end))
    return [phrase for phrase in groups if phrase], tokens
