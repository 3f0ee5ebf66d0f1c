"""Emotion (and speaker) conditioning for Coqui VITS: one vector per utterance, fed as VITS's d-vector.

Coqui's VITS has no emotion input; it has a global conditioning vector ``g`` (the "d-vector", from a
speaker encoder in Coqui's multi-speaker recipes) that conditions the posterior encoder, the flow, the
duration predictor and the HiFi-GAN decoder. emogen fills it with

    [ speaker embedding (learned, one row per training speaker) ; W * pooled EmotionEncoder tokens ]

so one model speaks every speaker of the training data in every emotion, and emotions it never heard
(mixtures, VA points, arcs) still get a vector: the EmotionEncoder's features are continuous in VAD.
VITS L2-normalises d-vectors, so only the direction of this vector matters; the emotion part's share of
it is learned.

It is a diffusers ModelMixin + ConfigMixin (``save_pretrained`` / ``from_pretrained``), trained jointly
with VITS by train/train_tts.py and stored in the model folder's ``emotion_conditioning/``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from emogen.emotion import Emotion, EmotionArc
from emogen.emotion.encoder import EmotionEncoder, emotion_features
from emogen.errors import EmotionError

FOLDER = "emotion_conditioning"
# Frames per second at which an arc is sampled to average it into one utterance-level vector.
ARC_FPS = 10.0


class EmotionConditioning(ModelMixin, ConfigMixin):
    """(speaker ids [B], emotion features [B, F]) -> d-vectors [B, speaker_dim + emotion_dim]."""

    @register_to_config
    def __init__(
        self,
        speakers: tuple[str, ...] = ("default",),
        speaker_dim: int = 32,
        emotion_dim: int = 32,
        encoder_tokens: int = 2,
        encoder_token_dim: int = 32,
        encoder_hidden_dim: int = 64,
    ):
        super().__init__()
        if not speakers:
            raise ValueError("EmotionConditioning needs at least one speaker name")
        self.speaker_embedding = nn.Embedding(len(speakers), speaker_dim)
        nn.init.normal_(self.speaker_embedding.weight, std=0.3)
        self.encoder = EmotionEncoder(num_tokens=encoder_tokens, token_dim=encoder_token_dim, hidden_dim=encoder_hidden_dim)
        self.emotion_proj = nn.Linear(encoder_token_dim, emotion_dim)

    @property
    def dim(self) -> int:
        return self.config.speaker_dim + self.config.emotion_dim

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(self.config.speakers)

    def speaker_index(self, speaker: str | None) -> int:
        """The row of ``speaker`` (None: the first speaker); EmotionError naming the known ones otherwise."""
        if speaker is None:
            return 0
        if speaker not in self.speakers:
            shown = ", ".join(self.speakers[:30]) + (" ..." if len(self.speakers) > 30 else "")
            raise EmotionError(f"speaker {speaker!r} is not one this model was trained on; accepted: {shown}")
        return self.speakers.index(speaker)

    def forward(self, speaker_ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        emotion = self.emotion_proj(EmotionEncoder.pooled(self.encoder(features)))
        return torch.cat([self.speaker_embedding(speaker_ids), emotion], dim=-1)

    def d_vectors(self, speakers: Sequence[str | None], emotions: Sequence[Emotion | EmotionArc | str]) -> torch.Tensor:
        """Convenience for inference: speaker names and emotions (or arcs, averaged) -> d-vectors [B, dim]."""
        ids = torch.tensor([self.speaker_index(s) for s in speakers], device=self.device)
        return self(ids, utterance_features(emotions).to(self.device))


def utterance_features(emotions: Sequence[Emotion | EmotionArc | str]) -> torch.Tensor:
    """One feature row per emotion; an arc (VITS has one vector per utterance) is its mean over time."""
    rows = []
    for item in emotions:
        if isinstance(item, Mapping) and "keyframes" not in item:  # an Emotion's dict (e.g. a plan's "emotion")
            item = Emotion.parse(item)
        arc = EmotionArc.parse(item)
        if len(arc.keyframes) == 1:
            rows.append(emotion_features([arc.keyframes[0].emotion])[0])
        else:
            frames = max(2, int(round(arc.duration * ARC_FPS)) + 1)
            rows.append(emotion_features(arc.sample(ARC_FPS, frames=frames)).mean(dim=0))
    return torch.stack(rows)
