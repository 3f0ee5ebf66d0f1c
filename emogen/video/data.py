"""Training clips for text + emotion arc -> video: EmoFaces clips (identity, arc, blinks, head motion) as
``pixel_values`` [3, frames, H, W] in [-1, 1], the identity ``caption`` and per-frame ``emotion_features``
[frames, FEATURE_DIM].

The stream is `emogen.data.emofaces.EmoFacesClips` (endless, sharded by process and DataLoader worker,
each clip a deterministic function of its index), so a resumed run reads exactly the clips an
uninterrupted one would.
"""
from __future__ import annotations

import torch

from emogen.data.emofaces import SIZE_RANGE, EmoFacesClips, _identity, describe_identity
from emogen.emotion.encoder import emotion_features
from emogen.image.data import _pixels


class EmoFacesCaptionedClips(EmoFacesClips):
    """EmoFaces clips at ``resolution`` px (rendered at the renderer's smallest size at least, then resized)."""

    def __init__(self, resolution: int, **stream) -> None:
        super().__init__(size=max(resolution, SIZE_RANGE[0]), **stream)
        self.resolution = resolution

    def item(self, index: int) -> dict:
        clip = self.spec(index)
        frames = torch.stack([_pixels(frame.render(self.size), self.resolution) for frame in clip.frames])
        return {
            "pixel_values": frames.permute(1, 0, 2, 3),  # [3, frames, H, W], the layout UNetMotionModel takes
            "caption": describe_identity(_identity(clip.identity_seed)),
            "emotion_features": emotion_features([frame.emotion for frame in clip.frames]),
            "index": torch.tensor(index, dtype=torch.long),
        }
