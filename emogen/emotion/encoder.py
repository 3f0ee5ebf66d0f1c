"""`EmotionEncoder`: Emotions (or per-frame arcs) -> conditioning tokens for generators.

Every conditioning network in emogen receives emotions through this module. An emotion becomes a
fixed-size feature vector (VAD point, mixture over every known category, intensity), then K tokens of
width D: Fourier features of the VAD point (so nearby points get similar but separable codes), a
learned embedding of the category mixture, and the intensity, mixed by a small MLP. A learned null
token stands for "no emotion" in classifier-free guidance dropout.

It is a diffusers ModelMixin + ConfigMixin, so ``save_pretrained`` / ``from_pretrained`` write and
read ``config.json`` + safetensors weights like any diffusers component.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from emogen.emotion.arc import EmotionArc
from emogen.emotion.categories import UNIVERSAL_CATEGORIES
from emogen.emotion.emotion import Emotion

# Feature layout: [valence, arousal, dominance, p(category) for UNIVERSAL_CATEGORIES..., intensity]
FEATURE_DIM = 3 + len(UNIVERSAL_CATEGORIES) + 1


def emotion_features(emotions: Sequence[Emotion]) -> torch.Tensor:
    """A batch of Emotions -> float tensor [B, FEATURE_DIM] (categories in the universal order)."""
    rows = np.zeros((len(emotions), FEATURE_DIM), dtype=np.float32)
    for row, emotion in zip(rows, emotions):
        row[:3] = emotion.vad
        for name, p in emotion.categories.items():
            row[3 + UNIVERSAL_CATEGORIES.index(name)] = p
        row[-1] = emotion.intensity
    return torch.from_numpy(rows)


def arc_features(arcs: Sequence[EmotionArc], num_frames: int, fps: float) -> torch.Tensor:
    """A batch of arcs sampled at ``fps`` -> float tensor [B, num_frames, FEATURE_DIM]."""
    return torch.stack([emotion_features(arc.sample(fps, frames=num_frames)) for arc in arcs])


class EmotionEncoder(ModelMixin, ConfigMixin):
    """Emotion features [..., FEATURE_DIM] -> tokens [..., num_tokens, token_dim]."""

    @register_to_config
    def __init__(
        self,
        num_tokens: int = 4,
        token_dim: int = 64,
        hidden_dim: int = 128,
        num_frequencies: int = 6,
        category_names: tuple[str, ...] = UNIVERSAL_CATEGORIES,
    ):
        super().__init__()
        if tuple(category_names) != UNIVERSAL_CATEGORIES:
            # Weights index categories by position: refuse a checkpoint made with another layout.
            raise ValueError(
                f"this encoder was built for categories {list(category_names)}, emogen uses {list(UNIVERSAL_CATEGORIES)}"
            )
        self.register_buffer(
            "frequencies", math.pi * 2.0 ** torch.arange(num_frequencies, dtype=torch.float32), persistent=False
        )
        fourier_dim = 3 + 2 * 3 * num_frequencies
        self.vad_proj = nn.Linear(fourier_dim, hidden_dim)
        self.mixture_embedding = nn.Linear(len(category_names), hidden_dim, bias=False)
        self.intensity_proj = nn.Linear(1, hidden_dim)
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(hidden_dim, hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, num_tokens * token_dim))
        self.norm = nn.LayerNorm(token_dim)
        self.null_tokens = nn.Parameter(torch.randn(num_tokens, token_dim) * 0.02)

    def fourier(self, vad: torch.Tensor) -> torch.Tensor:
        angles = vad.unsqueeze(-1) * self.frequencies  # [..., 3, F]
        return torch.cat([vad, angles.sin().flatten(-2), angles.cos().flatten(-2)], dim=-1)

    def forward(self, features: torch.Tensor, drop: torch.Tensor | None = None) -> torch.Tensor:
        """Tokens for ``features`` [..., FEATURE_DIM]; where ``drop`` [...] is True, the null tokens."""
        if features.shape[-1] != FEATURE_DIM:
            raise ValueError(f"emotion features must have last dimension {FEATURE_DIM}, got shape {tuple(features.shape)}")
        features = features.to(self.null_tokens.dtype)
        vad, mixture, intensity = features[..., :3], features[..., 3:-1], features[..., -1:]
        hidden = self.vad_proj(self.fourier(vad)) + self.mixture_embedding(mixture) + self.intensity_proj(intensity)
        tokens = self.norm(self.mlp(hidden).unflatten(-1, (self.config.num_tokens, self.config.token_dim)))
        if drop is not None:
            tokens = torch.where(drop.to(tokens.device)[..., None, None], self.null_tokens.expand_as(tokens), tokens)
        return tokens

    def null(self, *batch_shape: int) -> torch.Tensor:
        """Null tokens [*batch_shape, num_tokens, token_dim] for the unconditional branch of CFG."""
        return self.null_tokens.expand(*batch_shape, *self.null_tokens.shape)

    def encode(self, emotions: Sequence[Emotion | str]) -> torch.Tensor:
        """Convenience: Emotions or specs -> tokens [B, num_tokens, token_dim] on this module's device."""
        parsed = [Emotion.parse(e) for e in emotions]
        return self(emotion_features(parsed).to(self.device))

    def encode_arcs(self, arcs: Sequence[EmotionArc | str], num_frames: int, fps: float) -> torch.Tensor:
        """Convenience: arcs -> per-frame tokens [B, num_frames, num_tokens, token_dim]."""
        parsed = [EmotionArc.parse(a) for a in arcs]
        return self(arc_features(parsed, num_frames, fps).to(self.device))

    @staticmethod
    def pooled(tokens: torch.Tensor) -> torch.Tensor:
        """One vector per emotion [..., token_dim], for embedding-style conditioning (time embedding, d-vector)."""
        return tokens.mean(dim=-2)
