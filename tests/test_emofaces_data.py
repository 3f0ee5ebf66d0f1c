import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from emogen.data.emofaces import (
    CATEGORIES,
    OPPOSITES,
    SPLITS,
    EmoFacesClips,
    EmoFacesStills,
    clip_spec,
    describe_identity,
    export_emofaces,
    still_spec,
)
from emogen.data.loaders import load_imagefolder
from emogen.emotion.categories import SYNONYMS
from emogen.errors import EmotionError
from emogen.face.avatar import Identity


def emogen(*args):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=300)


def indices(dataset, num_workers=0, batch_size=None):
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    if batch_size is None:
        return [int(item["index"]) for item in loader]
    return [batch["index"].tolist() for batch in loader]


def test_stills_are_deterministic_for_a_seed():
    first = list(EmoFacesStills(n=4, seed=3))
    again = list(EmoFacesStills(n=4, seed=3))
    other = list(EmoFacesStills(n=4, seed=4))
    for a, b in zip(first, again):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a["pixel_values"], c["pixel_values"]) for a, c in zip(first, other))
    item = first[0]
    assert item["pixel_values"].shape == (3, 64, 64) and item["pixel_values"].dtype == torch.float32
    assert -1.0 <= item["pixel_values"].min() and item["pixel_values"].max() <= 1.0
    assert item["probs"].shape == (8,) and item["blendshapes"].shape == (52,)
    assert item["probs"].argmax() == item["category"]


def test_still_kinds_and_label_ranges():
    specs = [still_spec(i, seed=1) for i in range(300)]
    kinds = {s.kind for s in specs}
    assert kinds == {"category", "mixture", "va"}
    for spec in specs:
        if spec.kind == "category":
            assert 0.5 <= spec.emotion.intensity <= 1.0 and max(spec.emotion.probs) == 1.0
        if spec.kind == "mixture":
            assert sorted(spec.emotion.probs)[-2] > 0.1 and spec.emotion.categories["neutral"] == 0
    singles = [still_spec(i, kinds={"category": 1}).kind for i in range(20)]
    assert set(singles) == {"category"}
    with pytest.raises(EmotionError, match="accepted: category, mixture, va"):
        EmoFacesStills(kinds={"sad": 1.0})


def test_splits_use_disjoint_identities():
    (train_lo, train_hi), (held_lo, held_hi) = SPLITS["train"], SPLITS["heldout"]
    assert train_hi <= held_lo or held_hi <= train_lo
    train = {still_spec(i, "train").identity_seed for i in range(500)}
    heldout = {still_spec(i, "heldout").identity_seed for i in range(500)}
    assert all(train_lo <= s < train_hi for s in train)
    assert all(held_lo <= s < held_hi for s in heldout)
    assert not train & heldout
    clips = {clip_spec(i, "heldout", duration=0.5).identity_seed for i in range(5)}
    assert all(held_lo <= s < held_hi for s in clips)


@pytest.mark.parametrize("world_size, num_workers, chunk_size", [(1, 0, 1), (2, 0, 1), (2, 2, 1), (3, 2, 2)])
def test_sharding_over_processes_and_workers_is_disjoint_and_complete(world_size, num_workers, chunk_size):
    seen = []
    for rank in range(world_size):
        dataset = EmoFacesStills(n=13, start=5, chunk_size=chunk_size, rank=rank, world_size=world_size)
        seen += indices(dataset, num_workers)
    assert sorted(seen) == list(range(5, 18))


def test_batches_do_not_depend_on_worker_count_and_resume_exactly():
    # chunk_size = batch size: process r's j-th batch is chunk j * world_size + r, whatever the workers.
    batches = {}
    for workers in (0, 2):
        batches[workers] = [indices(EmoFacesStills(n=24, chunk_size=3, rank=rank, world_size=2), workers, 3)
                            for rank in range(2)]
    assert batches[0] == batches[2]
    assert batches[0][1][:2] == [[3, 4, 5], [9, 10, 11]]
    resumed = indices(EmoFacesStills(n=12, start=12, chunk_size=3, rank=1, world_size=2), 0, 3)
    assert resumed == batches[0][1][2:]


def test_rank_and_world_size_come_from_the_launcher_environment(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert indices(EmoFacesStills(n=6)) == [1, 3, 5]
    with pytest.raises(EmotionError, match="rank must be in"):
        list(EmoFacesStills(n=2, rank=2, world_size=2))


EMOTION_WORDS = set(SYNONYMS) | {"smile", "smiling", "frown", "frowning", "expression", "emotion", "emotional"}


def test_captions_describe_identity_never_emotion():
    captions = {describe_identity(Identity.from_seed(seed)) for seed in range(400)}
    assert len(captions) > 100  # identities are told apart
    for caption in captions:
        words = set(re.findall(r"[a-z\-]+", caption.lower()))
        assert not words & EMOTION_WORDS, caption
        assert "hair" in caption or "bald" in caption
        assert "skin" in caption and "background" in caption
    with_glasses = next(s for s in range(200) if Identity.from_seed(s).glasses)
    assert "glasses" in describe_identity(Identity.from_seed(with_glasses))
    # The same identity gets the same caption whatever it feels.
    spec_captions = {}
    for i in range(200):
        spec = still_spec(i, "heldout")
        spec_captions.setdefault(spec.identity_seed, set()).add(spec.to_sample(64, {}).caption)
    assert all(len(c) == 1 for c in spec_captions.values())


def test_export_writes_a_loadable_imagefolder(tmp_path):
    out = export_emofaces(6, 64, tmp_path / "stills", split="heldout", seed=2)
    loaded = load_imagefolder(out)
    assert len(loaded) == 6 and loaded.report.total_skipped == 0
    for k, sample in enumerate(loaded):
        spec = still_spec(k, "heldout", 2)
        assert sample.category == spec.emotion.top and sample.category_set == "mead8"
        assert sample.valence == pytest.approx(spec.emotion.valence)
        assert sample.intensity == pytest.approx(spec.emotion.intensity)
        assert sample.identity == str(spec.identity_seed)
        assert sample.blendshapes["mouthSmileLeft"] == pytest.approx(spec.blendshapes[43])
        assert sample.attributes["kind"] == spec.kind and sample.attributes["index"] == k
        image = sample.load_image()
        assert image.size == (64, 64)
        assert np.array_equal(np.asarray(image), np.asarray(spec.render(64)))
    with pytest.raises(EmotionError, match="not empty"):
        export_emofaces(2, 64, out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_clips_have_arcs_blinks_head_motion_and_per_frame_labels():
    clip = clip_spec(0, fps=25, duration=8.0)
    assert len(clip.frames) == len(clip.times) == 201
    assert 2 <= len(clip.arc_spec.split("->")) <= 3
    assert len(clip.blinks) >= 1 and all(0.12 <= length <= 0.2 for _, length in clip.blinks)
    gaps = np.diff([start for start, _ in clip.blinks])
    assert all(2.0 <= g <= 6.0 for g in gaps)
    closures = np.array([f.blink for f in clip.frames])
    assert closures.max() > 0.6 and (closures == 0).mean() > 0.8  # brief blinks, open eyes otherwise
    blink_frame = clip.frames[int(closures.argmax())]
    assert blink_frame.blendshapes[8] >= blink_frame.blink  # eyeBlinkLeft carries the blink
    yaws = np.array([f.pose.yaw for f in clip.frames])
    assert yaws.std() > 0.1 and np.abs(np.diff(yaws)).max() < 2.0  # moves, smoothly
    assert clip.frames[0].emotion.top != clip.frames[-1].emotion.top or len(clip.arc_spec.split("->")) == 3
    assert {f.identity_seed for f in clip.frames} == {clip.identity_seed}
    assert OPPOSITES["joy"] == "sadness" and OPPOSITES["sadness"] == "joy"


def test_clip_stream_and_export(tmp_path):
    item = next(iter(EmoFacesClips(n=1, fps=10, duration=1.0)))
    assert item["pixel_values"].shape == (11, 3, 64, 64)
    assert item["category"].shape == item["blink"].shape == item["time"].shape == (11,)
    out = export_emofaces(2, 64, tmp_path / "clips", clips=True, fps=10, duration=1.0)
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 22
    assert [(r["attributes"]["clip"], r["attributes"]["frame"]) for r in rows[:12]] == \
        [(0, k) for k in range(11)] + [(1, 0)]
    assert rows[3]["attributes"]["time"] == pytest.approx(0.3)
    assert all(r["category"] in CATEGORIES and "arc" in r["attributes"] for r in rows)
    assert len(load_imagefolder(out)) == 22


@pytest.mark.parametrize("args, message", [
    (["--n", "0", "--size", "64"], "n must be an integer in [1, 1000000], got 0"),
    (["--n", "2", "--size", "32"], "size must be an integer in [64, 512], got 32"),
    (["--n", "2", "--size", "64", "--clips", "--fps", "0"], "fps must be a number in [1, 60], got 0.0"),
])
def test_cli_rejects_bad_values_with_exit_2(tmp_path, args, message):
    result = emogen("data", "emofaces", *args, "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_writes_an_imagefolder(tmp_path):
    out = tmp_path / "faces"
    result = emogen("data", "emofaces", "--n", "3", "--size", "64", "--out", str(out), "--split", "heldout",
                    "--seed", "7")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["000000.png", "000001.png", "000002.png", "metadata.jsonl"]
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert [r["identity"] for r in rows] == [str(still_spec(k, "heldout", 7).identity_seed) for k in range(3)]
