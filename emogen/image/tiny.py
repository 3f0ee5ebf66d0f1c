"""Tiny randomly initialised components of an SD-1.x-layout model, built offline in code.

Tests use them to prove the pipeline on the same classes a real Stable Diffusion checkpoint uses; the
trainer starts from them to train the small models that ship with emogen. ``tiny_components()``
returns keyword arguments for `EmotionDiffusionPipeline`:

    pipeline = EmotionDiffusionPipeline(**tiny_components(mode="residual"))

The UNet has about 1M parameters; the VAE downsamples by 2 (``pixel_space=True`` drops it and the UNet
denoises RGB directly). The tokenizer is a real CLIP tokenizer (same normaliser, pre-tokeniser and
byte-level BPE) whose merges spell out the words of a small built-in corpus of portrait prompts, EmoFaces
captions and emotion words, so every text tokenises, most corpus words are single tokens, and the build
is the same in every process.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from tokenizers import pre_tokenizers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from emogen.emotion import UNIVERSAL_CATEGORIES
from emogen.errors import EmotionError
from emogen.image.adapter import EmotionAdapter

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
END_OF_WORD = "</w>"
CORPUS_SUBJECTS = ("person", "woman", "man", "child", "face", "portrait", "cartoon", "character", "cat", "dog", "landscape")
CORPUS_TEMPLATES = ("a photo of a {}", "a close-up portrait of a {}", "a drawing of a {} looking at the camera")
CORPUS_WORDS = "slight intense very calm smiling frowning crying laughing angry happy sad scared surprised bright dark"
# The words of EmoFaces captions (emogen.data.emofaces.describe_identity), so they tokenise as whole words.
CORPUS_CAPTION = (
    "a cartoon portrait of a person with curly short long auburn black blond light-medium dark brown ginger grey "
    "purple blue hair in a bun bob and a bald head, fair light medium olive-brown skin, round square glasses, "
    "stubble, a full beard, wearing a red orange yellow green teal pink white shirt, in front of a pale background"
)

WIDTH = 32  # text embedding width = cross-attention width = emotion token width


def tiny_tokenizer(model_max_length: int = 77) -> CLIPTokenizer:
    """A CLIPTokenizer with a few hundred tokens: the 256 byte symbols (alone and word-final), then merges
    that spell every word of a small built-in corpus letter by letter, most frequent words first. Most
    corpus words become one token (37 of the 48 caption words); in the others an earlier merge takes
    some of their letters first, and they take a few tokens, as rare words do in CLIP.

    The merges are written out rather than learned with a BPE trainer: the trainer breaks ties between
    equally frequent pairs in hash order, which gave a different vocabulary in every process (and a
    model trained in one process could not be resumed in another).
    """
    corpus = [template.format(subject) for template in CORPUS_TEMPLATES for subject in CORPUS_SUBJECTS]
    corpus += [" ".join(UNIVERSAL_CATEGORIES), CORPUS_WORDS, CORPUS_CAPTION]
    counts = Counter(word for text in corpus for word in re.findall(r"[a-z]+", text.lower()))
    merges: dict[tuple[str, str], None] = {}
    for word in sorted(counts, key=lambda w: (-counts[w], w)):  # frequent words get the lowest ranks
        symbols = [*word[:-1], word[-1] + END_OF_WORD]
        spelled = symbols[0]
        for symbol in symbols[1:]:
            merges[(spelled, symbol)] = None
            spelled += symbol
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    symbols = [BOS, EOS, *alphabet, *(s + END_OF_WORD for s in alphabet), *(a + b for a, b in merges)]
    vocab = {symbol: index for index, symbol in enumerate(dict.fromkeys(symbols))}
    return CLIPTokenizer(vocab=vocab, merges=list(merges), model_max_length=model_max_length)


def tiny_text_encoder(tokenizer: CLIPTokenizer) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=WIDTH,
        intermediate_size=2 * WIDTH,
        num_hidden_layers=2,
        num_attention_heads=4,
        projection_dim=WIDTH,
        max_position_embeddings=tokenizer.model_max_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return CLIPTextModel(config)


def tiny_unet(sample_size: int, channels: int, class_label_dim: int | None = None) -> UNet2DConditionModel:
    """~1M parameters; with ``class_label_dim``, a projection class embedding whose output starts at zero."""
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=WIDTH,
        attention_head_dim=8,
        norm_num_groups=8,
        class_embed_type="projection" if class_label_dim else None,
        projection_class_embeddings_input_dim=class_label_dim,
    )
    if class_label_dim:
        # Zero output: untrained, the emotion leaves the time embedding (and so the model) unchanged.
        torch.nn.init.zeros_(unet.class_embedding.linear_2.weight)
        torch.nn.init.zeros_(unet.class_embedding.linear_2.bias)
    return unet


def emofaces_unet(class_label_dim: int | None = None) -> UNet2DConditionModel:
    """The shipped EmoFaces model's UNet: 64 px RGB, four levels (64, 32, 16, 8 px), ~5M parameters.

    Cross-attention to the prompt and emotion tokens runs at 16x16 and 8x8. With it at 8x8 alone (and
    the context reaching the other levels only pooled into the time embedding), a 1000-step run
    learned to ignore both: its loss with and without the conditions agreed to three digits, and
    every prompt and emotion gave the same face. At 16x16 a cell is 4x4 pixels, fine enough to move
    a mouth corner or a brow. Attention at 32x32 would cost several times a training step on a CPU.
    The pooled context also enters the time embedding (``addition_embed_type="text"``).
    """
    unet = UNet2DConditionModel(
        sample_size=64,
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32, 96, 128),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        cross_attention_dim=WIDTH,
        attention_head_dim=8,
        norm_num_groups=8,
        addition_embed_type="text",
        addition_embed_type_num_heads=4,
        class_embed_type="projection" if class_label_dim else None,
        projection_class_embeddings_input_dim=class_label_dim,
    )
    if class_label_dim:
        torch.nn.init.zeros_(unet.class_embedding.linear_2.weight)
        torch.nn.init.zeros_(unet.class_embedding.linear_2.bias)
    return unet


def tiny_vae(image_size: int) -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        sample_size=image_size,
    )


ARCHITECTURES = ("tiny", "emofaces64")


def tiny_components(
    mode: str = "residual", image_size: int = 32, pixel_space: bool = False, seed: int = 0,
    architecture: str = "tiny", adapter_num_tokens: int = 4, adapter_hidden_dim: int = 64,
) -> dict[str, Any]:
    """Keyword arguments for `EmotionDiffusionPipeline`: unet, vae, text_encoder, tokenizer, scheduler,
    emotion_adapter. The same ``seed`` gives the same weights; the global RNG is left as it was.

    ``architecture="emofaces64"`` is the shipped EmoFaces model (`emofaces_unet`, pixel space, 64 px;
    ``image_size`` and ``pixel_space`` are then fixed)."""
    if architecture not in ARCHITECTURES:
        raise EmotionError(f"architecture must be one of {', '.join(ARCHITECTURES)}; got {architecture!r}")
    if architecture == "emofaces64":
        image_size, pixel_space = 64, True
    class_label_dim = WIDTH if mode == "class_labels" else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = tiny_text_encoder(tokenizer)
        vae = None if pixel_space else tiny_vae(image_size)
        latent_size = image_size if pixel_space else image_size // 2
        latent_channels = 3 if pixel_space else vae.config.latent_channels
        if architecture == "emofaces64":
            unet = emofaces_unet(class_label_dim)
        else:
            unet = tiny_unet(latent_size, latent_channels, class_label_dim=class_label_dim)
        emotion_adapter = EmotionAdapter.for_unet(
            unet, mode=mode, num_tokens=adapter_num_tokens, hidden_dim=adapter_hidden_dim
        )
    if architecture == "emofaces64":
        # Ancestral (DDPM) sampling: with deterministic samplers (DDIM, DPM-Solver, Euler) the trained
        # model's residual noise-prediction error stays in the image as colour grain, and more DDIM steps
        # made it worse; DDPM's fresh noise at every step washes it out (compared on its step-500
        # checkpoint, 25 to 100 steps). The cosine schedule and clipping are the pixel-space ones below.
        scheduler = DDPMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=True)
    elif pixel_space:
        # Pixels: a cosine schedule and clipping to the image range.
        scheduler = DDIMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=True)
    else:
        # Stable Diffusion's schedule, so the tiny model is trained and sampled like the real ones.
        scheduler = DDIMScheduler(
            beta_start=0.00085,
            beta_end=0.012,
            beta_schedule="scaled_linear",
            clip_sample=False,
            set_alpha_to_one=False,
            steps_offset=1,
        )
    return {
        "unet": unet,
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
        "emotion_adapter": emotion_adapter,
    }
