"""`EmotionAdapter`: how an emotion reaches a text-to-image UNet.

One module, five ways (``mode``), so that the learned methods and their baselines are trained,
saved and compared through the same code:

- ``"residual"`` (EmotiCrafter-style): the prompt tokens attend to the emotion tokens and a per-token
  MLP turns what they read into a residual added to the prompt embeddings. Its output layer starts at
  zero, so an untrained adapter leaves a pretrained model exactly as it was.
- ``"tokens"``: the emotion tokens are appended to the cross-attention context.
- ``"both"``: the residual, then the appended tokens.
- ``"prompt_word"`` (baseline, no learned parameters): the emotion's words are written into the prompt.
- ``"class_labels"`` (baseline): the pooled emotion tokens are float ``class_labels`` for a UNet built
  with ``class_embed_type="projection"``; they are added to the time embedding.

Every learned mode encodes emotions with `EmotionEncoder`, whose null tokens stand for "no emotion"
in classifier-free guidance dropout.
"""
from __future__ import annotations

from typing import Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from emogen.emotion import Emotion
from emogen.emotion.encoder import EmotionEncoder
from emogen.errors import EmotionError

MODES = ("residual", "tokens", "both", "prompt_word", "class_labels")

# prompt_word: categories at least this likely are named; below this intensity the words say "slight".
WORD_PROBABILITY = 0.25
SLIGHT_INTENSITY = 0.5


class PromptResidual(nn.Module):
    """Prompt tokens [B, L, D] read emotion tokens [B, K, D] -> residual [B, L, D], zero at initialisation."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(2 * dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        # Zero output: the residual starts at exactly 0 and the first updates move it away from there.
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, prompt_embeds: torch.Tensor, emotion_tokens: torch.Tensor) -> torch.Tensor:
        query = self.norm(prompt_embeds)
        read, _ = self.attention(query, emotion_tokens, emotion_tokens, need_weights=False)
        return self.mlp(torch.cat([query, read], dim=-1))


class EmotionAdapter(ModelMixin, ConfigMixin):
    """Prompt embeddings + emotion features -> the UNet's ``encoder_hidden_states`` and ``class_labels``.

    ``token_dim`` is the UNet's ``cross_attention_dim`` (for ``"class_labels"``: its
    ``projection_class_embeddings_input_dim``).
    """

    @register_to_config
    def __init__(
        self,
        mode: str = "residual",
        token_dim: int = 768,
        num_tokens: int = 4,
        hidden_dim: int = 128,
        num_heads: int = 4,
        num_frequencies: int = 6,
    ):
        super().__init__()
        if mode not in MODES:
            raise EmotionError(f"emotion adapter mode must be one of {', '.join(MODES)}; got {mode!r}")
        if token_dim % num_heads:
            raise EmotionError(f"token_dim ({token_dim}) must be a multiple of num_heads ({num_heads})")
        learned = mode != "prompt_word"
        self.encoder = EmotionEncoder(num_tokens, token_dim, hidden_dim, num_frequencies) if learned else None
        self.residual = PromptResidual(token_dim, num_heads) if mode in ("residual", "both") else None
        if not learned:
            # diffusers reads a module's device and dtype off its first parameter or buffer, and loads
            # only a module that saved a weights file: an empty tensor gives it both.
            self.register_buffer("device_anchor", torch.zeros(0))

    @classmethod
    def for_unet(cls, unet, mode: str | None = None, **kwargs) -> EmotionAdapter:
        """An untrained adapter with the widths of ``unet``.

        Without ``mode``: ``"class_labels"`` for a UNet with a projection class embedding, else
        ``"residual"`` (which leaves the model's output unchanged until trained).
        """
        config = unet.config
        if mode is None:
            mode = "class_labels" if config.class_embed_type == "projection" else "residual"
        if mode == "class_labels":
            token_dim = config.projection_class_embeddings_input_dim
        else:
            token_dim = config.cross_attention_dim
        if not isinstance(token_dim, int):
            raise EmotionError(f"cannot size an emotion adapter for mode {mode!r} from this UNet (width {token_dim!r})")
        return cls(mode=mode, token_dim=token_dim, **kwargs)

    def check_unet(self, unet) -> None:
        """Raise EmotionError unless ``unet`` accepts what this adapter produces."""
        mode, width = self.config.mode, self.config.token_dim
        config = unet.config
        if mode == "class_labels":
            if config.class_embed_type != "projection" or config.projection_class_embeddings_input_dim != width:
                raise EmotionError(
                    f"adapter mode 'class_labels' needs a UNet built with class_embed_type='projection' and "
                    f"projection_class_embeddings_input_dim={width}; this UNet has class_embed_type="
                    f"{config.class_embed_type!r}, projection_class_embeddings_input_dim="
                    f"{config.projection_class_embeddings_input_dim!r}"
                )
            return
        if config.class_embed_type is not None or config.num_class_embeds is not None:
            raise EmotionError(
                f"this UNet expects class labels (class_embed_type={config.class_embed_type!r}, num_class_embeds="
                f"{config.num_class_embeds!r}); only adapter mode 'class_labels' gives them, not {mode!r}"
            )
        if mode != "prompt_word" and config.cross_attention_dim != width:
            raise EmotionError(
                f"adapter token_dim {width} does not match the UNet's cross_attention_dim {config.cross_attention_dim}"
            )

    def emotion_prompts(self, prompts: Sequence[str], emotions: Sequence[Emotion]) -> list[str]:
        """The prompts to encode for the emotion-conditioned branch: with the emotion's words in
        ``"prompt_word"`` mode ("a portrait, joy and surprise"), unchanged otherwise."""
        if self.config.mode != "prompt_word":
            return list(prompts)
        return [prompt_with_words(prompt, emotion_words(emotion)) for prompt, emotion in zip(prompts, emotions)]

    def forward(
        self,
        prompt_embeds: torch.Tensor,
        features: torch.Tensor,
        drop_mask: torch.Tensor | None = None,
        scale: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`condition`; training calls the module itself so that DistributedDataParallel sees the call."""
        return self.condition(prompt_embeds, features, drop_mask, scale)

    def condition(
        self,
        prompt_embeds: torch.Tensor,
        features: torch.Tensor,
        drop_mask: torch.Tensor | None = None,
        scale: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(encoder_hidden_states, class_labels or None) for prompt embeddings [B, L, D] and emotion
        features [B, FEATURE_DIM] (`emotion_features`).

        Rows where ``drop_mask`` [B] is True get the null emotion (classifier-free guidance).
        ``scale`` moves the emotion tokens from the null tokens (0) to the emotion (1) and beyond.
        """
        if self.encoder is None:  # prompt_word: the emotion is already in the prompt's words
            return prompt_embeds, None
        drop_mask = None if drop_mask is None else drop_mask.to(self.device)
        tokens = self.encoder(features.to(self.device), drop=drop_mask)
        tokens = torch.lerp(self.encoder.null(len(tokens)), tokens, scale)
        if self.config.mode == "class_labels":
            return prompt_embeds, EmotionEncoder.pooled(tokens).to(prompt_embeds.dtype)
        hidden_states = prompt_embeds
        if self.residual is not None:
            hidden_states = hidden_states + self.residual(prompt_embeds.to(self.dtype), tokens).to(prompt_embeds.dtype)
        if self.config.mode in ("tokens", "both"):
            hidden_states = torch.cat([hidden_states, tokens.to(prompt_embeds.dtype)], dim=1)
        return hidden_states, None


def prompt_with_words(prompt: str, words: str) -> str:
    """The prompt_word baseline's text: "a portrait" + "joy" -> "a portrait, joy"."""
    return f"{prompt}, {words}"


def emotion_words(emotion: Emotion) -> str:
    """'joy', 'joy and surprise', 'slight sadness': an emotion as the prompt_word baseline writes it."""
    ranked = sorted(emotion.categories.items(), key=lambda item: -item[1])
    names = [name for name, p in ranked if p >= WORD_PROBABILITY][:2] or [ranked[0][0]]
    degree = "slight " if emotion.intensity < SLIGHT_INTENSITY else ""
    return degree + " and ".join(names)
