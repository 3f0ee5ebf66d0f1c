"""The video UNet: diffusers' `UNetMotionModel` (AnimateDiff), made to follow an emotion frame by frame.

`UNetMotionModel` is a text-to-image UNet with temporal attention ("motion modules") after each spatial
block. diffusers 0.42 feeds its cross-attention one context row per frame ([batch * frames, tokens,
dim]; AnimateDiffPipeline repeats the prompt's row), so each frame can read its own emotion tokens as
they are. Only the time embedding is computed once per clip.

`EmotionUNetMotionModel` adds what the EmoFaces image UNet needs and `UNetMotionModel` lacks:
``addition_embed_type="text"``, a pooled-context embedding added to the time embedding (the context
carries the emotion tokens, so this pooled embedding must follow each frame's emotion too). It is
computed per frame and added to the time embedding every block receives, which makes each frame of a
converted model compute exactly what the image UNet computes for it, as long as the motion modules add
nothing (`zero_motion_output`, how a fresh motion adapter starts; tests check this to float precision).
With ``addition_embed_type=None`` it is a plain `UNetMotionModel`.
"""
from __future__ import annotations

import torch
from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel
from diffusers.configuration_utils import register_to_config
from diffusers.models.embeddings import TextTimeEmbedding
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401  (pipeline loading looks it up in this module)

from emogen.errors import EmotionError

ADDITION_EMBED_TYPES = (None, "text")


class EmotionUNetMotionModel(UNetMotionModel):
    """`UNetMotionModel` + optional per-frame ``addition_embed_type="text"`` (see the module docstring)."""

    @register_to_config
    def __init__(
        self,
        sample_size: int | None = None,
        in_channels: int = 4,
        out_channels: int = 4,
        down_block_types: tuple[str, ...] = (
            "CrossAttnDownBlockMotion",
            "CrossAttnDownBlockMotion",
            "CrossAttnDownBlockMotion",
            "DownBlockMotion",
        ),
        up_block_types: tuple[str, ...] = (
            "UpBlockMotion",
            "CrossAttnUpBlockMotion",
            "CrossAttnUpBlockMotion",
            "CrossAttnUpBlockMotion",
        ),
        block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280),
        layers_per_block: int | tuple[int] = 2,
        downsample_padding: int = 1,
        mid_block_scale_factor: float = 1,
        act_fn: str = "silu",
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        cross_attention_dim: int = 1280,
        transformer_layers_per_block: int | tuple[int] | tuple[tuple] = 1,
        reverse_transformer_layers_per_block: int | tuple[int] | tuple[tuple] | None = None,
        temporal_transformer_layers_per_block: int | tuple[int] | tuple[tuple] = 1,
        reverse_temporal_transformer_layers_per_block: int | tuple[int] | tuple[tuple] | None = None,
        transformer_layers_per_mid_block: int | tuple[int] | None = None,
        temporal_transformer_layers_per_mid_block: int | tuple[int] | None = 1,
        use_linear_projection: bool = False,
        num_attention_heads: int | tuple[int, ...] = 8,
        motion_max_seq_length: int = 32,
        motion_num_attention_heads: int | tuple[int, ...] = 8,
        reverse_motion_num_attention_heads: int | tuple[int, ...] | tuple[tuple[int, ...], ...] | None = None,
        use_motion_mid_block: bool = True,
        mid_block_layers: int = 1,
        encoder_hid_dim: int | None = None,
        encoder_hid_dim_type: str | None = None,
        addition_embed_type: str | None = None,
        addition_time_embed_dim: int | None = None,
        projection_class_embeddings_input_dim: int | None = None,
        time_cond_proj_dim: int | None = None,
        addition_embed_type_num_heads: int = 64,
    ):
        # The signature repeats UNetMotionModel's (diffusers 0.42) because ConfigMixin builds configs
        # from it; addition_embed_type_num_heads is the one addition.
        if addition_embed_type not in ADDITION_EMBED_TYPES:
            raise EmotionError(
                f"EmotionUNetMotionModel supports addition_embed_type {ADDITION_EMBED_TYPES}, got {addition_embed_type!r}"
            )
        super().__init__(
            sample_size=sample_size,
            in_channels=in_channels,
            out_channels=out_channels,
            down_block_types=down_block_types,
            up_block_types=up_block_types,
            block_out_channels=block_out_channels,
            layers_per_block=layers_per_block,
            downsample_padding=downsample_padding,
            mid_block_scale_factor=mid_block_scale_factor,
            act_fn=act_fn,
            norm_num_groups=norm_num_groups,
            norm_eps=norm_eps,
            cross_attention_dim=cross_attention_dim,
            transformer_layers_per_block=transformer_layers_per_block,
            reverse_transformer_layers_per_block=reverse_transformer_layers_per_block,
            temporal_transformer_layers_per_block=temporal_transformer_layers_per_block,
            reverse_temporal_transformer_layers_per_block=reverse_temporal_transformer_layers_per_block,
            transformer_layers_per_mid_block=transformer_layers_per_mid_block,
            temporal_transformer_layers_per_mid_block=temporal_transformer_layers_per_mid_block,
            use_linear_projection=use_linear_projection,
            num_attention_heads=num_attention_heads,
            motion_max_seq_length=motion_max_seq_length,
            motion_num_attention_heads=motion_num_attention_heads,
            reverse_motion_num_attention_heads=reverse_motion_num_attention_heads,
            use_motion_mid_block=use_motion_mid_block,
            mid_block_layers=mid_block_layers,
            encoder_hid_dim=encoder_hid_dim,
            encoder_hid_dim_type=encoder_hid_dim_type,
            addition_embed_type=addition_embed_type,
            addition_time_embed_dim=addition_time_embed_dim,
            projection_class_embeddings_input_dim=projection_class_embeddings_input_dim,
            time_cond_proj_dim=time_cond_proj_dim,
        )
        self._frame_embedding: torch.Tensor | None = None
        if addition_embed_type == "text":
            cross_attention_dim = self.config.cross_attention_dim
            if not isinstance(cross_attention_dim, int):
                raise EmotionError("addition_embed_type 'text' needs one cross_attention_dim for all blocks")
            time_embed_dim = self.config.block_out_channels[0] * 4
            self.add_embedding = TextTimeEmbedding(cross_attention_dim, time_embed_dim,
                                                   num_heads=addition_embed_type_num_heads)
            # Every block takes the time embedding as `temb` (the mid block positionally, second).
            for block in [*self.down_blocks, self.mid_block, *self.up_blocks]:
                if block is not None:
                    block.register_forward_pre_hook(self._add_frame_embedding, with_kwargs=True)

    @classmethod
    def from_unet2d(cls, unet: UNet2DConditionModel, motion_adapter: MotionAdapter | None = None,
                    load_weights: bool = True) -> EmotionUNetMotionModel:
        """`UNetMotionModel.from_unet2d`, also carrying over a ``"text"`` addition embedding."""
        if unet.config.addition_embed_type not in ADDITION_EMBED_TYPES:
            raise EmotionError(
                f"cannot animate a UNet with addition_embed_type {unet.config.addition_embed_type!r}; "
                f"supported: {ADDITION_EMBED_TYPES}"
            )
        if unet.config.class_embed_type is not None or unet.config.num_class_embeds is not None:
            raise EmotionError("UNetMotionModel has no class embedding: a UNet with class labels cannot be animated")
        model = super().from_unet2d(unet, motion_adapter, load_weights=load_weights)
        if load_weights and unet.config.addition_embed_type == "text":
            model.add_embedding.load_state_dict(unet.add_embedding.state_dict())
        return model if model.device == unet.device else model.to(unet.device)

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor, *args, **kwargs):
        """As `UNetMotionModel.forward`: ``sample`` [batch, channels, frames, H, W], ``encoder_hidden_states``
        [batch * frames, tokens, dim] (one context per frame, batch-major)."""
        if self.config.addition_embed_type != "text":
            return super().forward(sample, timestep, encoder_hidden_states, *args, **kwargs)
        expected = sample.shape[0] * sample.shape[2]
        if encoder_hidden_states.shape[0] != expected:
            raise EmotionError(
                f"encoder_hidden_states needs one row per frame ({sample.shape[0]} x {sample.shape[2]} = {expected}), "
                f"got {encoder_hidden_states.shape[0]}"
            )
        self._frame_embedding = self.add_embedding(encoder_hidden_states).to(self.dtype)
        try:
            return super().forward(sample, timestep, encoder_hidden_states, *args, **kwargs)
        finally:
            self._frame_embedding = None

    def _add_frame_embedding(self, module, args, kwargs):
        extra = self._frame_embedding
        if extra is None:
            return None
        if "temb" in kwargs:
            kwargs["temb"] = kwargs["temb"] + extra
        else:
            args = (args[0], args[1] + extra, *args[2:])
        return args, kwargs


def motion_adapter_for(unet: UNet2DConditionModel, num_attention_heads: int = 4, max_seq_length: int = 32,
                       norm_num_groups: int | None = None) -> MotionAdapter:
    """A fresh `MotionAdapter` shaped for ``unet`` (same blocks and layers), whose motion modules start
    by adding nothing: the animated model first draws what the image model draws, frame by frame."""
    config = unet.config
    groups = norm_num_groups or config.norm_num_groups
    for channels in config.block_out_channels:
        if channels % groups or channels % num_attention_heads:
            raise EmotionError(
                f"block width {channels} must be a multiple of motion norm_num_groups ({groups}) and "
                f"num_attention_heads ({num_attention_heads})"
            )
    layers = config.layers_per_block
    adapter = MotionAdapter(
        block_out_channels=tuple(config.block_out_channels),
        motion_layers_per_block=layers if isinstance(layers, int) else tuple(layers),
        motion_num_attention_heads=num_attention_heads,
        motion_norm_num_groups=groups,
        motion_max_seq_length=max_seq_length,
        use_motion_mid_block=True,
    )
    zero_motion_output(adapter)
    return adapter


def zero_motion_output(module: torch.nn.Module) -> None:
    """Zero every motion module's output projection (AnimateDiff's zero initialisation)."""
    found = 0
    for name, child in module.named_modules():
        if name.split(".")[-1] == "proj_out" and "motion_modules" in name:
            torch.nn.init.zeros_(child.weight)
            torch.nn.init.zeros_(child.bias)
            found += 1
    if not found:
        raise EmotionError("found no motion module output projections to zero")


def motion_unet(unet: UNet2DConditionModel, motion_adapter: MotionAdapter | None = None) -> EmotionUNetMotionModel:
    """The image UNet animated: its weights + ``motion_adapter`` (a fresh zero-output one if None)."""
    return EmotionUNetMotionModel.from_unet2d(unet, motion_adapter or motion_adapter_for(unet))


def motion_parameters(unet: UNetMotionModel) -> list[torch.nn.Parameter]:
    """The motion modules' parameters (what video training trains; the spatial UNet stays as it was)."""
    return [p for name, p in unet.named_parameters() if "motion_modules" in name]
