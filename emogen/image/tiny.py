"""Tiny randomly initialised components of an SD-1.x-layout model, built offline in code.

Tests use them to prove the pipeline on the same classes a real Stable Diffusion checkpoint uses; the
trainer starts from them to train the small models that ship with emogen. ``tiny_components()``
returns keyword arguments for `EmotionDiffusionPipeline`:

    pipeline = EmotionDiffusionPipeline(**tiny_components(mode="residual"))

The UNet has about 1M parameters; the VAE downsamples by 2 (``pixel_space=True`` drops it and the UNet
denoises RGB directly). The tokenizer is a real CLIP tokenizer (same normaliser, pre-tokeniser and
byte-level BPE) whose merges are learned from a small built-in corpus of portrait prompts and emotion
words, so every text tokenises, common words are single tokens, and the build is deterministic.
"""
from __future__ import annotations

import json
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from emogen.emotion import UNIVERSAL_CATEGORIES
from emogen.image.adapter import EmotionAdapter

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
END_OF_WORD = "</w>"
# CLIP's pre-tokenisation (transformers' CLIPTokenizer), so the learned merges match how text is split.
CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
CORPUS_SUBJECTS = ("person", "woman", "man", "child", "face", "portrait", "cartoon", "character", "cat", "dog", "landscape")
CORPUS_TEMPLATES = ("a photo of a {}", "a close-up portrait of a {}", "a drawing of a {} looking at the camera")
CORPUS_WORDS = "slight intense very calm smiling frowning crying laughing angry happy sad scared surprised bright dark"

WIDTH = 32  # text embedding width = cross-attention width = emotion token width


def tiny_tokenizer(model_max_length: int = 77) -> CLIPTokenizer:
    """A CLIPTokenizer with a few hundred tokens: the 256 byte symbols (alone and word-final) + learned merges."""
    trainer_model = Tokenizer(models.BPE(unk_token=EOS, end_of_word_suffix=END_OF_WORD, continuing_subword_prefix=""))
    trainer_model.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    trainer_model.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=[BOS, EOS],
        initial_alphabet=alphabet,
        end_of_word_suffix=END_OF_WORD,
        continuing_subword_prefix="",
        show_progress=False,
    )
    corpus = [template.format(subject) for template in CORPUS_TEMPLATES for subject in CORPUS_SUBJECTS]
    corpus += [" ".join(UNIVERSAL_CATEGORIES), CORPUS_WORDS]
    trainer_model.train_from_iterator(corpus, trainer)
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" "))
              for merge in json.loads(trainer_model.to_str())["model"]["merges"]]
    # The trainer's own ids depend on hash order; CLIP's layout (bytes, word-final bytes, merges) does not.
    symbols = [BOS, EOS, *alphabet, *(s + END_OF_WORD for s in alphabet), *(a + b for a, b in merges)]
    vocab = {symbol: index for index, symbol in enumerate(dict.fromkeys(symbols))}
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length)


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


def tiny_components(
    mode: str = "residual", image_size: int = 32, pixel_space: bool = False, seed: int = 0
) -> dict[str, Any]:
    """Keyword arguments for `EmotionDiffusionPipeline`: unet, vae, text_encoder, tokenizer, scheduler,
    emotion_adapter. The same ``seed`` gives the same weights; the global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = tiny_text_encoder(tokenizer)
        vae = None if pixel_space else tiny_vae(image_size)
        latent_size = image_size if pixel_space else image_size // 2
        latent_channels = 3 if pixel_space else vae.config.latent_channels
        unet = tiny_unet(latent_size, latent_channels, class_label_dim=WIDTH if mode == "class_labels" else None)
        emotion_adapter = EmotionAdapter.for_unet(unet, mode=mode, hidden_dim=64)
    if pixel_space:
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
