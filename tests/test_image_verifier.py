"""best_of and scorer guidance on tiny random pipelines, judged by the shipped EmoFaces scorer."""
import math

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler

from emogen.emotion import Emotion, get_set
from emogen.errors import EmotionError
from emogen.image import EmotionDiffusionPipeline
from emogen.image.tiny import tiny_components
from emogen.image.verifier import best_of, emotion_distance, scorer_guidance_loss
from emogen.score.emofaces import EmoFacesScorer
from emogen.score.estimate import EmotionEstimate

PROMPT = "a close-up portrait of a person"
STEPS = 2


def make_pipeline(pixel_space=True):
    pipeline = EmotionDiffusionPipeline(**tiny_components(mode="residual", image_size=32, pixel_space=pixel_space))
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


@pytest.fixture(scope="module")
def pipeline():
    return make_pipeline()


@pytest.fixture(scope="module")
def scorer():
    return EmoFacesScorer()


def pixels(image):
    return np.asarray(image, dtype=np.int16)


def mead8_estimate(top: str, p: float, valence: float, arousal: float) -> EmotionEstimate:
    """An estimate with probability p on ``top`` and the rest spread evenly over the other MEAD-8 categories."""
    names = get_set("mead8").categories
    probs = {name: p if name == top else (1 - p) / (len(names) - 1) for name in names}
    return EmotionEstimate(probs=probs, valence=valence, arousal=arousal, confidence=p, scorer="emofaces")


# ----- emotion_distance ------------------------------------------------------------------------------


def test_emotion_distance_adds_the_va_distance_and_the_missing_probability():
    joy = Emotion.parse("joy")
    assert emotion_distance(mead8_estimate("joy", 1.0, joy.valence, joy.arousal), joy) == 0.0
    off = mead8_estimate("joy", 0.25, joy.valence - 0.3, joy.arousal + 0.4)
    assert emotion_distance(off, joy) == pytest.approx(0.5 + 0.75)
    # The right VA point with the wrong category still counts the category, and vice versa.
    assert emotion_distance(mead8_estimate("anger", 1.0, joy.valence, joy.arousal), joy) == pytest.approx(1.0)
    assert emotion_distance(mead8_estimate("joy", 1.0, -joy.valence, joy.arousal), joy) == pytest.approx(2 * joy.valence)


def test_emotion_distance_maps_the_target_into_the_scorers_set():
    # 'v=-0.8,a=0' is an ekman7 target; its MEAD-8 top category is sadness.
    target = Emotion.parse("v=-0.8,a=0")
    assert target.to_set("mead8").top == "sadness"
    sad = mead8_estimate("sadness", 0.9, target.valence, target.arousal)
    assert emotion_distance(sad, target) == pytest.approx(0.1)
    assert emotion_distance(sad, target, "mead8") == emotion_distance(sad, target)
    odd = EmotionEstimate(probs={"happy": 1.0}, valence=0.0, arousal=0.0, confidence=1.0, scorer="odd")
    with pytest.raises(EmotionError, match="no known category set"):
        emotion_distance(odd, target)


# ----- best_of ---------------------------------------------------------------------------------------


def test_best_of_keeps_the_candidate_closest_to_the_target(pipeline, scorer):
    result = best_of(pipeline, scorer, PROMPT, "sadness", n=3, seed=5, num_inference_steps=STEPS)
    target = Emotion.parse("sadness")
    assert result.seeds == [5, 6, 7] and len(result.candidates) == len(result.estimates) == 3
    assert [e.probs for e in result.estimates] == [e.probs for e in scorer.score_batch(result.candidates)]
    assert result.distances == [emotion_distance(e, target, "mead8") for e in result.estimates]
    assert result.index == int(np.argmin(result.distances))
    assert result.distance == min(result.distances) and result.seed == 5 + result.index
    assert result.image is result.candidates[result.index] and result.estimate is result.estimates[result.index]
    assert len({pixels(c).tobytes() for c in result.candidates}) == 3, "candidates share their noise"


def test_best_of_candidates_are_plain_calls_with_their_seeds(pipeline, scorer):
    one_by_one = best_of(pipeline, scorer, PROMPT, "joy", n=2, seed=3, batch_size=1, num_inference_steps=STEPS)
    plain = [pipeline(PROMPT, "joy", seed=s, num_inference_steps=STEPS).images[0] for s in (3, 4)]
    for candidate, expected in zip(one_by_one.candidates, plain):
        assert np.array_equal(pixels(candidate), pixels(expected))
    # One batched call starts from the same noise; batched kernels may round the last bit differently.
    batched = best_of(pipeline, scorer, PROMPT, "joy", n=2, seed=3, num_inference_steps=STEPS)
    for candidate, expected in zip(batched.candidates, plain):
        assert np.abs(pixels(candidate) - pixels(expected)).max() <= 1


@pytest.mark.parametrize("n", [0, -2, 1.5, True, "3"])
def test_best_of_refuses_a_bad_n(pipeline, scorer, n):
    with pytest.raises(EmotionError, match=f"best-of n must be a positive integer, got {n!r}"):
        best_of(pipeline, scorer, PROMPT, "joy", n=n)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"batch_size": 0}, "batch_size must be a positive integer or None, got 0"),
        ({"generator": torch.Generator()}, "best_of sets generator itself"),
        ({"output_type": "np"}, "best_of sets output_type itself"),
        ({"emotion": "blorp"}, "emotion: .*blorp"),
    ],
)
def test_best_of_refuses_bad_arguments(pipeline, scorer, arguments, message):
    kwargs = {"emotion": "joy", "n": 2, **arguments}
    with pytest.raises(EmotionError, match=message):
        best_of(pipeline, scorer, PROMPT, kwargs.pop("emotion"), **kwargs)


# ----- scorer guidance --------------------------------------------------------------------------------


def test_scorer_guidance_scale_zero_is_the_unguided_call(pipeline):
    def never(images):
        raise AssertionError("a zero scale must not even compute the loss")

    plain = pipeline(PROMPT, "joy", seed=0, num_inference_steps=STEPS, output_type="np").images
    guided = pipeline(PROMPT, "joy", seed=0, num_inference_steps=STEPS, output_type="np",
                      scorer_guidance=never, scorer_guidance_scale=0.0).images
    assert np.array_equal(plain, guided)


@pytest.mark.parametrize("pixel_space", [True, False])
def test_scorer_guidance_moves_images_toward_the_target(scorer, pixel_space):
    """Guided images score closer to their target than unguided ones from the same four seeds."""
    pipeline = make_pipeline(pixel_space)
    for spec in ("joy", "sadness"):
        target = Emotion.parse(spec)

        def mean_distance(scale):
            images = pipeline(
                PROMPT, target, num_inference_steps=4, num_images_per_prompt=4,
                generator=[torch.Generator().manual_seed(s) for s in range(4)],
                scorer_guidance=scorer_guidance_loss(scorer, [target]), scorer_guidance_scale=scale,
            ).images
            return np.mean([emotion_distance(e, target, "mead8") for e in scorer.score_batch(images)])

        unguided, guided = mean_distance(0.0), mean_distance(5.0)
        assert guided < unguided - 0.2, f"{spec}: guided {guided:.3f}, unguided {unguided:.3f}"


def test_scorer_guidance_loss_is_cross_entropy_plus_va_l1(scorer):
    targets = [Emotion.parse("joy"), Emotion.parse("v=-0.8,a=0")]
    loss_fn = scorer_guidance_loss(scorer, targets)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    loss = loss_fn(images)
    with torch.no_grad():
        logits, va = scorer.model(images)
    categories = list(scorer.model.categories)
    labels = torch.tensor([categories.index("joy"), categories.index("sadness")])
    expected = torch.nn.functional.cross_entropy(logits, labels, reduction="none") + (
        va - torch.tensor([[t.valence, t.arousal] for t in targets])
    ).abs().sum(-1)
    assert loss.shape == (2,)
    torch.testing.assert_close(loss, expected)

    # Its gradient points downhill: a small step against it lowers every image's loss.
    images.requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(images).sum(), images)
    assert (loss_fn((images - 0.01 * grad.sign()).detach()) < loss.detach()).all()

    one_target = scorer_guidance_loss(scorer.model, [targets[0]])  # the network itself works too, broadcast to B
    assert one_target(images.detach()).shape == (2,)
    with pytest.raises(EmotionError, match="2 targets for 3 images"):
        loss_fn(torch.zeros(3, 3, 32, 32))
    with pytest.raises(EmotionError, match="needs the differentiable EmoFaces scorer"):
        scorer_guidance_loss(torch.nn.Linear(2, 2), targets)


def test_scorer_guidance_with_v_prediction_moves_eps_the_same_way(scorer):
    """A v-predicting scheduler gets the same guidance as an eps-predicting one, written as a move of v."""
    pipeline = make_pipeline()
    loss_fn = scorer_guidance_loss(scorer, [Emotion.parse("anger")])
    generator = torch.Generator().manual_seed(0)
    latents, eps = torch.randn(2, 3, 32, 32, generator=generator), torch.randn(2, 3, 32, 32, generator=generator)
    timestep = torch.tensor(500)
    alpha_bar = pipeline.scheduler.alphas_cumprod[500]
    guided_eps = pipeline.scorer_guide(latents, timestep, eps, loss_fn, 3.0)
    assert not torch.allclose(guided_eps, eps)

    pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config, prediction_type="v_prediction")
    v = (eps - (1 - alpha_bar).sqrt() * latents) / alpha_bar.sqrt()
    guided_v = pipeline.scorer_guide(latents, timestep, v, loss_fn, 3.0)
    torch.testing.assert_close(alpha_bar.sqrt() * guided_v + (1 - alpha_bar).sqrt() * latents, guided_eps,
                               atol=1e-4, rtol=1e-4)


def test_scorer_guidance_decodes_through_the_vae(scorer):
    pipeline = make_pipeline(pixel_space=False)
    seen = []

    def loss_fn(images):
        seen.append(tuple(images.shape))
        return scorer_guidance_loss(scorer, [Emotion.parse("fear")])(images)

    plain = pipeline(PROMPT, "fear", seed=0, num_inference_steps=STEPS, output_type="np").images
    guided = pipeline(PROMPT, "fear", seed=0, num_inference_steps=STEPS, output_type="np",
                      scorer_guidance=loss_fn, scorer_guidance_scale=5.0).images
    assert seen == [(1, 3, 32, 32)] * STEPS  # decoded images, not 16 x 16 latents
    assert np.isfinite(guided).all() and np.abs(guided - plain).max() > 1e-3


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"scorer_guidance_scale": -1.0}, "^scorer_guidance_scale must be a number >= 0, got -1.0"),
        ({"scorer_guidance_scale": math.inf}, "^scorer_guidance_scale must be a number >= 0"),
        ({"scorer_guidance_scale": 1.0}, "scorer_guidance_scale 1.0 needs a scorer_guidance loss function"),
        ({"scorer_guidance": "emofaces"}, "scorer_guidance must be a function"),
        ({"scorer_guidance": lambda images: images.mean(), "scorer_guidance_scale": 1.0},
         r"one loss per image, shape \(1,\); got \(\)"),
    ],
)
def test_pipeline_checks_scorer_guidance_arguments(pipeline, arguments, message):
    with pytest.raises(EmotionError, match=message):
        pipeline(PROMPT, "joy", seed=0, num_inference_steps=1, **arguments)
