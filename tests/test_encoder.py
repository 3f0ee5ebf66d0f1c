import pytest
import torch

from emogen.emotion import Emotion, EmotionArc, UNIVERSAL_CATEGORIES
from emogen.emotion.encoder import FEATURE_DIM, EmotionEncoder, arc_features, emotion_features


def test_features_layout():
    features = emotion_features([Emotion.parse("0.6 joy + 0.4 surprise:0.5")])
    assert features.shape == (1, FEATURE_DIM)
    row = features[0]
    assert row[3 + UNIVERSAL_CATEGORIES.index("joy")] == pytest.approx(0.6)
    assert row[-1] == pytest.approx(0.8)  # 0.6 * 1 + 0.4 * 0.5


def test_token_shapes_for_emotions_and_arcs():
    encoder = EmotionEncoder(num_tokens=3, token_dim=16, hidden_dim=32)
    assert encoder.encode(["joy", "v=0.1,a=-0.5"]).shape == (2, 3, 16)
    tokens = encoder.encode_arcs(["joy@0 -> sadness@1", "anger"], num_frames=6, fps=5)
    assert tokens.shape == (2, 6, 3, 16)
    assert encoder.pooled(tokens).shape == (2, 6, 16)
    # Frames of a changing arc differ; frames of a constant arc do not.
    assert not torch.allclose(tokens[0, 0], tokens[0, -1])
    assert torch.allclose(tokens[1, 0], tokens[1, -1])


def test_different_emotions_give_different_tokens():
    encoder = EmotionEncoder()
    tokens = encoder.encode(["joy", "sadness", "v=0.76,a=0.40"])
    assert (tokens[0] - tokens[1]).abs().max() > 1e-3
    assert (tokens[0] - tokens[2]).abs().max() > 1e-4


def test_null_token_dropout_and_gradients():
    encoder = EmotionEncoder(num_tokens=2, token_dim=8, hidden_dim=16)
    features = emotion_features([Emotion.parse("joy")] * 3)
    drop = torch.tensor([True, False, True])
    tokens = encoder(features, drop=drop)
    assert torch.equal(tokens[0], encoder.null_tokens) and torch.equal(tokens[2], encoder.null_tokens)
    assert not torch.equal(tokens[1], encoder.null_tokens)
    # A random projection: the plain sum of a LayerNorm output has zero gradient.
    (tokens * torch.randn_like(tokens)).sum().backward()
    assert encoder.null_tokens.grad.abs().sum() > 0 and encoder.vad_proj.weight.grad.abs().sum() > 0
    assert encoder.null(4, 5).shape == (4, 5, 2, 8)


def test_save_pretrained_round_trip(tmp_path):
    encoder = EmotionEncoder(num_tokens=2, token_dim=8, hidden_dim=16, num_frequencies=3)
    encoder.save_pretrained(tmp_path)
    assert (tmp_path / "config.json").exists()
    assert any(p.suffix == ".safetensors" for p in tmp_path.iterdir())
    loaded = EmotionEncoder.from_pretrained(tmp_path, local_files_only=True)
    assert loaded.config.num_tokens == 2 and loaded.config.num_frequencies == 3
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    with torch.no_grad():
        assert torch.allclose(encoder.encode(["joy:0.4"]), loaded.encode(["joy:0.4"]), atol=1e-5)


def test_wrong_feature_width_is_refused():
    with pytest.raises(ValueError, match=str(FEATURE_DIM)):
        EmotionEncoder()(torch.zeros(2, FEATURE_DIM + 1))


def test_arc_features_shape():
    assert arc_features([EmotionArc.parse("joy@0 -> fear@1")], num_frames=4, fps=2).shape == (1, 4, FEATURE_DIM)
