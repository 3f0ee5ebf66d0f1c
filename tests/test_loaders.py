"""Real-format loaders and the shared sample schema: every fixture is written here, in each dataset's layout."""
import csv
import json
import os
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from emogen.data.loaders import (
    PLUTCHIK_TO_EMOGEN,
    DataWarning,
    EmotionImageDataset,
    check_images,
    load_affectnet,
    load_emoset,
    load_findingemo,
    load_imagefolder,
)
from emogen.data.schema import METADATA_FILE, EmotionSample, write_imagefolder
from emogen.emotion import Emotion, EmotionError, get_set

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def solid(path, color, size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def pixels(image):
    return np.asarray(image)


# ----- schema -------------------------------------------------------------------------------------


def test_sample_canonicalises_and_validates_labels(tmp_path):
    sample = EmotionSample(image_path=tmp_path / "a.png", category="Happy", category_set="ekman", valence=0.5,
                           arousal=-0.25, source="test")
    assert sample.category == "joy" and sample.category_set == "ekman7"
    assert sample.image_path == str(tmp_path / "a.png")
    with pytest.raises(EmotionError, match="valence must be in"):
        EmotionSample(image_path="a.png", valence=1.5)
    with pytest.raises(EmotionError, match="intensity"):
        EmotionSample(image_path="a.png", intensity=-0.1)
    with pytest.raises(EmotionError, match="'contempt' is not in set 'ekman7'.*neutral"):
        EmotionSample(image_path="a.png", category="contempt", category_set="ekman7")
    with pytest.raises(EmotionError, match="did you mean 'happy'"):
        EmotionSample(image_path="a.png", category="happpy")
    with pytest.raises(EmotionError, match="needs image_path or image"):
        EmotionSample(category="joy")
    with pytest.raises(EmotionError, match="crop_box"):
        EmotionSample(image_path="a.png", crop_box=(5, 5, 2, 9))
    with pytest.raises(EmotionError, match="blendshape 'jawOpen' must be finite"):
        EmotionSample(image_path="a.png", blendshapes={"jawOpen": float("nan")})
    with pytest.raises(EmotionError, match="attributes must be a mapping"):
        EmotionSample(image_path="a.png", attributes=["scene"])


def test_sample_emotion_prefers_category_then_va():
    by_category = EmotionSample(image=np.zeros((2, 2, 3), np.uint8), category="fear", intensity=0.5, valence=0.9,
                                arousal=0.9)
    emotion = by_category.emotion()
    assert emotion.top == "fear" and emotion.intensity == pytest.approx(0.5)
    assert by_category.emotion("mikels8").category_set == "mikels8"

    by_va = EmotionSample(image=np.zeros((2, 2, 3), np.uint8), valence=-0.6, arousal=-0.3)
    assert by_va.emotion() == Emotion.from_vad(-0.6, -0.3)
    assert by_va.emotion().top == "sadness"

    with pytest.raises(EmotionError, match="no emotion label.*category or both valence and arousal"):
        EmotionSample(image=np.zeros((2, 2, 3), np.uint8), valence=0.2).emotion()


def test_load_image_from_path_array_and_callable_with_clipped_crop(tmp_path):
    path = tmp_path / "face.png"
    image = Image.new("RGB", (40, 30), RED)
    image.paste(BLUE, (10, 5, 20, 15))
    image.save(path)
    cropped = EmotionSample(image_path=path, crop_box=(10, 5, 20, 15)).load_image()
    assert cropped.mode == "RGB" and cropped.size == (10, 10)
    assert (pixels(cropped) == BLUE).all()
    # A box running past the border is clipped to the image.
    assert EmotionSample(image_path=path, crop_box=(30, 20, 60, 60)).load_image().size == (10, 10)
    with pytest.raises(EmotionError, match="outside the 40x30 image"):
        EmotionSample(image_path=path, crop_box=(50, 50, 60, 60)).load_image()

    grey = Image.new("L", (3, 2), 7)
    assert EmotionSample(image=grey).load_image().mode == "RGB"
    array = np.full((2, 3, 3), 200, np.uint8)
    assert (pixels(EmotionSample(image=array).load_image()) == 200).all()
    assert EmotionSample(image=lambda: array).load_image().size == (3, 2)

    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(EmotionError, match="cannot read image .*broken.png"):
        EmotionSample(image_path=tmp_path / "broken.png").load_image()


def test_to_metadata_is_a_json_row():
    sample = EmotionSample(image_path="/data/x/001.jpg", caption="a face", category="anger", category_set="mead8",
                           valence=-0.4, arousal=0.6, dominance=0.3, intensity=0.9, blendshapes={"browDown": 0.7},
                           identity="actor-3", source="emofaces", attributes={"pose": "frontal"})
    row = sample.to_metadata()
    assert json.loads(json.dumps(row)) == row
    assert row == {
        "file_name": "001.jpg", "caption": "a face", "category": "anger", "category_set": "mead8",
        "valence": -0.4, "arousal": 0.6, "dominance": 0.3, "intensity": 0.9, "blendshapes": {"browDown": 0.7},
        "identity": "actor-3", "source": "emofaces", "attributes": {"pose": "frontal"},
    }
    assert sample.to_metadata("renamed.png")["file_name"] == "renamed.png"
    with pytest.raises(EmotionError, match="needs file_name"):
        EmotionSample(image=np.zeros((1, 1, 3), np.uint8)).to_metadata()


# ----- write_imagefolder ----------------------------------------------------------------------------


def world_samples():
    return [
        EmotionSample(image=Image.new("RGB", (6, 4), RED), caption="a red face", category="joy", category_set="ekman7",
                      valence=0.76, arousal=0.48, dominance=0.35, intensity=1.0,
                      blendshapes={"mouthSmileLeft": 0.8, "mouthSmileRight": 0.75}, identity="id-0", source="emofaces"),
        EmotionSample(image=np.full((4, 6, 3), (0, 255, 0), np.uint8), caption="", valence=-0.5, arousal=0.1,
                      source="emofaces", attributes={"frame": 3}),
        EmotionSample(image=lambda: Image.new("RGB", (5, 5), BLUE), category="awe", category_set="mikels8",
                      intensity=0.25, identity="id-1", source="emofaces"),
    ]


def test_imagefolder_round_trip(tmp_path):
    samples = world_samples()
    out = write_imagefolder(samples, tmp_path / "world")
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png", "000002.png", METADATA_FILE]
    rows = [json.loads(line) for line in (out / METADATA_FILE).read_text().splitlines()]
    assert [r["file_name"] for r in rows] == ["000000.png", "000001.png", "000002.png"]

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)  # a clean folder loads without warnings
        loaded = load_imagefolder(out)
    assert isinstance(loaded, list) and len(loaded) == 3
    assert loaded.report.loaded == 3 and loaded.report.total_skipped == 0
    for original, back in zip(samples, loaded):
        for name in ("caption", "category", "category_set", "valence", "arousal", "dominance", "intensity",
                     "blendshapes", "identity", "source", "attributes"):
            assert getattr(back, name) == getattr(original, name), name
        assert (pixels(back.load_image()) == pixels(original.load_image())).all()
        assert back.emotion() == original.emotion()


def test_write_imagefolder_refuses_non_empty_dir_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    with pytest.raises(EmotionError, match="not empty; pass overwrite=True"):
        write_imagefolder(world_samples(), out)
    assert (out / "keep.txt").read_text() == "precious"

    write_imagefolder(world_samples()[:1], out, overwrite=True)
    assert sorted(os.listdir(out)) == ["000000.png", METADATA_FILE]
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging or set-aside folders left

    (tmp_path / "empty").mkdir()
    write_imagefolder(world_samples()[:1], tmp_path / "empty")  # an empty folder is fine
    with pytest.raises(EmotionError, match="unknown image format 'gif'; accepted: png"):
        write_imagefolder(world_samples(), tmp_path / "x", image_format="gif")
    with pytest.raises(EmotionError, match="no samples"):
        write_imagefolder([], tmp_path / "none")
    assert not (tmp_path / "none").exists()
    odd = EmotionSample(image=Image.new("RGB", (2, 2)), attributes={"when": object()})
    with pytest.raises(EmotionError, match=r"sample 0 \(000000.png\) has metadata that is not JSON"):
        write_imagefolder([odd], tmp_path / "odd")
    assert not (tmp_path / "odd").exists()


def failing_samples(tmp_path):
    def broken():
        raise RuntimeError("renderer crashed")

    return [*world_samples(), EmotionSample(image=broken, category="joy"), *world_samples()]


def test_write_imagefolder_failure_leaves_nothing_behind(tmp_path):
    out = tmp_path / "data" / "world"
    with pytest.raises(RuntimeError, match="renderer crashed"):
        write_imagefolder(failing_samples(tmp_path), out)
    assert not out.exists()
    assert os.listdir(tmp_path / "data") == []

    with pytest.raises(EmotionError, match="cannot read image"):
        write_imagefolder([EmotionSample(image_path=tmp_path / "missing.png")], out)
    assert os.listdir(tmp_path / "data") == []


def test_write_imagefolder_failure_keeps_the_old_dataset(tmp_path):
    out = write_imagefolder(world_samples()[:1], tmp_path / "world")
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    with pytest.raises(RuntimeError):
        write_imagefolder(failing_samples(tmp_path), out, overwrite=True)
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert os.listdir(tmp_path) == ["world"]


# ----- AffectNet ---------------------------------------------------------------------------------------

AFFECTNET_HEADER = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
                    "expression", "valence", "arousal"]
LANDMARKS = ";".join(["12.5"] * 136)


def affectnet_fixture(tmp_path):
    images = tmp_path / "Manually_Annotated_Images"
    face = Image.new("RGB", (40, 30), RED)
    face.paste(BLUE, (10, 5, 30, 25))
    (images / "1").mkdir(parents=True)
    face.save(images / "1" / "a.png")
    for name in ("b", "c", "d", "e", "f", "g", "h"):
        solid(images / "2" / f"{name}.png", GREEN)
    rows = [
        ["1/a.png", 10, 5, 20, 20, LANDMARKS, 1, 0.785714, 0.031746],   # happy, cropped face
        ["2/b.png", 0, 0, 8, 6, LANDMARKS, 7, -0.5, 0.25],               # contempt
        ["2/c.png", "", "", "", "", "", 0, -2, -2],                      # neutral, VA missing, no box
        ["2/d.png", 0, 0, 8, 6, LANDMARKS, 8, -2, -2],                   # None
        ["2/e.png", 0, 0, 8, 6, LANDMARKS, 9, -2, -2],                   # Uncertain
        ["2/f.png", 0, 0, 8, 6, LANDMARKS, 10, -2, -2],                  # No-Face
        ["2/g.png", 0, 0, 8, 6, LANDMARKS, 8, -2, -2],                   # None again
        ["2/missing.png", 0, 0, 8, 6, LANDMARKS, 2, -0.6, -0.1],         # image not there
        ["2/h.png", 0, 0, 8, 6, LANDMARKS, "sad", 0.1, 0.1],             # expression not a code
        ["2/h.png", 0, 0, 8, 6, LANDMARKS, 6, 1.5, 0.1],                 # valence out of range
        ["2/h.png", 0, 0, 8, 6, LANDMARKS, 12, 0.1, 0.1],                # unknown code
        ["2/h.png", 0, 0],                                               # truncated line
    ]
    return images, rows


def test_affectnet_loads_every_field_and_counts_skips(tmp_path):
    images, rows = affectnet_fixture(tmp_path)
    csv_path = write_csv(tmp_path / "Manually_Annotated_file_lists" / "training.csv", AFFECTNET_HEADER, rows)
    with pytest.warns(DataWarning, match="affectnet .*training.csv: loaded 3; skipped 9"):
        samples = load_affectnet(csv_path, images)
        report = samples.report

    happy, contempt, neutral = samples
    assert (happy.category, happy.category_set, happy.source) == ("joy", "mead8", "affectnet")
    assert happy.valence == pytest.approx(0.785714) and happy.arousal == pytest.approx(0.031746)
    assert happy.image_path == str(images / "1" / "a.png") and happy.crop_box == (10, 5, 30, 25)
    face = happy.load_image()
    assert face.size == (20, 20) and (pixels(face) == BLUE).all()
    assert happy.caption == "a photo of a person's face" and happy.identity is None

    assert (contempt.category, contempt.valence, contempt.arousal) == ("contempt", -0.5, 0.25)
    assert (neutral.category, neutral.valence, neutral.arousal, neutral.crop_box) == ("neutral", None, None, None)
    assert neutral.load_image().size == (8, 6)

    assert report.loaded == 3
    assert report.skipped == {
        "expression 8 (None)": 2, "expression 9 (Uncertain)": 1, "expression 10 (No-Face)": 1,
        "missing image": 1, "bad value": 3, "malformed row": 1,
    }
    assert any("training.csv:9" in where and "missing.png" in where for where in report.examples["missing image"])
    assert any("'sad' is not a number" in where for where in report.examples["bad value"])
    assert json.loads(json.dumps(report.to_dict()))["loaded"] == 3


def test_affectnet_without_cropping_and_headerless(tmp_path):
    images, rows = affectnet_fixture(tmp_path)
    csv_path = write_csv(tmp_path / "validation.csv", None, rows[:3])
    samples = load_affectnet(csv_path, images, crop_faces=False)
    report = samples.report
    assert [s.category for s in samples] == ["joy", "contempt", "neutral"]
    assert samples[0].crop_box is None and samples[0].load_image().size == (40, 30)
    assert report.total_skipped == 0


def test_affectnet_defaults_image_root_to_csv_folder(tmp_path):
    solid(tmp_path / "7" / "x.png", WHITE)
    csv_path = write_csv(tmp_path / "training.csv", AFFECTNET_HEADER, [["7/x.png", 0, 0, 8, 6, "", 3, 0.2, 0.7]])
    (sample,) = load_affectnet(csv_path)
    assert sample.category == "surprise" and sample.image_path == str(tmp_path / "7" / "x.png")


def test_affectnet_bad_input_errors(tmp_path):
    with pytest.raises(EmotionError, match="AffectNet annotation CSV .*not found: .*nope.csv"):
        load_affectnet(tmp_path / "nope.csv")
    header = [name for name in AFFECTNET_HEADER if name != "expression"]
    no_expression = write_csv(tmp_path / "a.csv", header, [["1/a.jpg"] + [0] * 7])
    with pytest.raises(EmotionError, match=r"a.csv: missing column\(s\) expression; found subDirectory_filePath.*"
                                           r"required: subDirectory_filePath, expression"):
        load_affectnet(no_expression)
    rows = [["1/a.jpg", 0, 0, 8, 6, "", 1, 0.1, 0.1]]
    with pytest.raises(EmotionError, match="image root is not a folder"):
        load_affectnet(write_csv(tmp_path / "b.csv", AFFECTNET_HEADER, rows), tmp_path / "no-images")
    with pytest.raises(EmotionError, match="no usable samples.*missing image: 1"):
        load_affectnet(write_csv(tmp_path / "c.csv", AFFECTNET_HEADER, rows), tmp_path)
    # Nine columns under other names are a wrong header, not data to read by position.
    renamed = write_csv(tmp_path / "d.csv", [name.lower() for name in AFFECTNET_HEADER], rows)
    with pytest.raises(EmotionError, match=r"missing column\(s\) subDirectory_filePath; found subdirectory_filepath"):
        load_affectnet(renamed, tmp_path)


# ----- EmoSet --------------------------------------------------------------------------------------------


def emoset_fixture(root):
    entries = []
    for i, (emotion, color) in enumerate([("amusement", RED), ("fear", BLUE), ("contentment", GREEN)]):
        image_id = f"{emotion}_{i:05d}"
        solid(root / "image" / emotion / f"{image_id}.jpg", color)
        entries.append([emotion, image_id, f"image/{emotion}/{image_id}.jpg", f"annotation/{emotion}/{image_id}.json"])
    annotations = {
        "amusement_00000": {"image_id": "amusement_00000", "emotion": "amusement", "brightness": 0.6,
                            "colorfulness": 0.9, "scene": "amusement_park", "object": ["Person", "Balloon"],
                            "facial_expression": "happy", "human_action": "riding a carousel"},
        "fear_00001": {"emotion": "fear", "brightness": 0.1, "scene": "cemetery"},
    }
    for image_id, annotation in annotations.items():
        path = root / "annotation" / image_id.split("_")[0] / f"{image_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(annotation))
    # contentment_00002 has no annotation file; now the rows to skip:
    solid(root / "image" / "anger" / "anger_00003.jpg", WHITE)
    (root / "annotation" / "anger").mkdir(parents=True)
    (root / "annotation" / "anger" / "anger_00003.json").write_text(json.dumps({"emotion": "awe"}))
    entries += [
        ["anger", "anger_00003", "image/anger/anger_00003.jpg", "annotation/anger/anger_00003.json"],  # conflict
        ["joy", "joy_1", "image/amusement/amusement_00000.jpg", "annotation/x.json"],  # joy is not Mikels-8
        ["sadness", "sadness_9", "image/sadness/sadness_9.jpg", "annotation/sadness/sadness_9.json"],  # no image
        "not an entry",
        ["fear", "image/fear/fear_00001.jpg", "annotation/fear/fear_00001.json"],  # 3-item form
    ]
    (root / "info.json").write_text(json.dumps({"emotion": {"label2idx": {"amusement": 0}}}))
    (root / "train.json").write_text(json.dumps(entries))
    return entries


def test_emoset_split_file_loads_labels_and_attributes(tmp_path):
    emoset_fixture(tmp_path)
    with pytest.warns(DataWarning, match="emoset"):
        samples = load_emoset(tmp_path, "train")
        report = samples.report
    assert [s.category for s in samples] == ["amusement", "fear", "contentment", "fear"]
    assert {s.category_set for s in samples} == {"mikels8"} and {s.source for s in samples} == {"emoset"}
    amusement, fear, contentment, fear_again = samples
    assert amusement.image_path == str(tmp_path / "image" / "amusement" / "amusement_00000.jpg")
    assert amusement.attributes == {
        "image_id": "amusement_00000", "brightness": 0.6, "colorfulness": 0.9, "scene": "amusement_park",
        "object": ["Person", "Balloon"], "facial_expression": "happy", "human_action": "riding a carousel",
    }
    assert amusement.caption == "a photo of amusement park with Person, Balloon, riding a carousel"
    assert amusement.valence is None and amusement.arousal is None
    assert np.abs(pixels(amusement.load_image()).astype(int) - RED).max() < 8
    assert fear.attributes == {"image_id": "fear_00001", "brightness": 0.1, "scene": "cemetery"}
    assert fear.caption == "a photo of cemetery"
    assert contentment.attributes == {"image_id": "contentment_00002"} and contentment.caption == "a photo"
    assert fear_again.attributes["image_id"] == "fear_00001"
    assert report.skipped == {"conflicting label": 1, "unknown emotion label": 1, "missing image": 1,
                              "malformed entry": 1}
    assert report.incomplete == {"missing annotation": 1}
    assert any("train.json[3]" in where for where in report.examples["conflicting label"])


def test_emoset_scan_without_split_and_missing_split(tmp_path):
    emoset_fixture(tmp_path)
    with pytest.warns(DataWarning):
        samples = load_emoset(tmp_path, split=None)
        report = samples.report
    assert sorted(s.attributes["image_id"] for s in samples) == ["amusement_00000", "contentment_00002", "fear_00001"]
    assert report.skipped == {"conflicting label": 1}
    with pytest.raises(EmotionError, match=r"val.json not found; accepted splits: train, val, test \(found here: "
                                           r"train.json\)"):
        load_emoset(tmp_path, "val")
    (tmp_path / "test.json").write_text('{"not": "a list"}')
    with pytest.raises(EmotionError, match="must hold a JSON list"):
        load_emoset(tmp_path, "test")
    with pytest.raises(EmotionError, match="EmoSet root is not a folder"):
        load_emoset(tmp_path / "nowhere")


# ----- FindingEmo --------------------------------------------------------------------------------------

FINDINGEMO_HEADER = ["user", "image_path", "reject", "tag", "age", "valence", "arousal", "emotion", "dec_factors",
                     "ambiguity", "fmri_candidate", "datetime"]


def findingemo_row(path, valence, arousal, emotion, reject="False", ambiguity="1"):
    return ["u1", path, reject, "", "Adults", valence, arousal, emotion, "Facial expression", ambiguity, "False",
            "2022-05-01 10:00:00"]


def test_findingemo_rescales_va_and_maps_plutchik(tmp_path):
    images = tmp_path / "images"
    for name in ("a", "b", "c", "d", "e"):
        solid(images / "Run_1" / "Happy kids park" / f"{name}.jpg", WHITE)
    run = "/Run_1/Happy kids park"
    rows = [
        findingemo_row(f"{run}/a.jpg", 3, 6, "Ecstasy"),
        findingemo_row(f"{run}/b.jpg", -3, 0, "Serenity", ambiguity="4"),
        findingemo_row(f"{run}/c.jpg", 1.5, 3, "Trust"),
        findingemo_row(f"{run}/d.jpg", 0, 4.5, "Amazement"),
        findingemo_row(f"{run}/e.jpg", -1, 2, "Happy"),                  # not a Plutchik label
        findingemo_row(f"{run}/a.jpg", 1, 1, "Joy", reject="True"),      # rejected
        findingemo_row(f"{run}/gone.jpg", 1, 1, "Joy"),                  # never downloaded
        findingemo_row(f"{run}/a.jpg", 4, 1, "Joy"),                     # valence beyond -3..3
        findingemo_row(f"{run}/a.jpg", 1, -1, "Joy"),                    # arousal beyond 0..6
    ]
    path = write_csv(tmp_path / "annotations_single.ann", FINDINGEMO_HEADER, rows)
    with pytest.warns(DataWarning, match="findingemo"):
        samples = load_findingemo(path, images)
        report = samples.report
    ecstasy, serenity, trust, amazement, unknown = samples
    assert (ecstasy.valence, ecstasy.arousal, ecstasy.category, ecstasy.intensity) == (1.0, 1.0, "joy", 1.0)
    assert ecstasy.category_set == "ekman7" and ecstasy.source == "findingemo"
    assert ecstasy.image_path == str(images / "Run_1" / "Happy kids park" / "a.jpg")
    assert (serenity.valence, serenity.arousal, serenity.category) == (-1.0, -1.0, "joy")
    assert serenity.intensity == pytest.approx(1 / 3)
    assert serenity.attributes == {"plutchik": "Serenity", "ambiguity": 4.0}
    assert (trust.valence, trust.arousal, trust.category, trust.intensity) == (0.5, 0.0, None, None)
    assert trust.emotion() == Emotion.from_vad(0.5, 0.0)
    assert (amazement.valence, amazement.arousal, amazement.category) == (0.0, 0.5, "surprise")
    assert unknown.category is None and unknown.valence == pytest.approx(-1 / 3)
    assert report.skipped == {"rejected by annotator": 1, "missing image": 1, "bad value": 2}
    assert report.incomplete == {"unknown Plutchik label (kept VA only)": 1}
    assert report.examples["unknown Plutchik label (kept VA only)"] == [f"{path}:6: 'Happy'"]

    samples = load_findingemo(write_csv(tmp_path / "r.ann", FINDINGEMO_HEADER, rows[5:6]), images,
                                      include_rejected=True)
    report = samples.report
    assert samples[0].category == "joy" and samples[0].intensity == pytest.approx(2 / 3)


def test_plutchik_mapping_covers_the_wheel():
    assert len(PLUTCHIK_TO_EMOGEN) == 24
    mapped = {label: category for label, (category, _) in PLUTCHIK_TO_EMOGEN.items() if category}
    assert mapped == {
        "serenity": "joy", "joy": "joy", "ecstasy": "joy", "apprehension": "fear", "fear": "fear", "terror": "fear",
        "surprise": "surprise", "amazement": "surprise", "pensiveness": "sadness", "sadness": "sadness",
        "grief": "sadness", "disgust": "disgust", "loathing": "disgust", "annoyance": "anger", "anger": "anger",
        "rage": "anger",
    }
    assert all(c in get_set("ekman7") for c in mapped.values())


def test_findingemo_bad_input_errors(tmp_path):
    (tmp_path / "images").mkdir()
    header = [h for h in FINDINGEMO_HEADER if h != "arousal"]
    path = write_csv(tmp_path / "annotations_single.ann", header, [])
    with pytest.raises(EmotionError, match=r"annotations_single.ann: missing column\(s\) arousal;.*"
                                           r"required: image_path, valence, arousal"):
        load_findingemo(path, tmp_path / "images")
    with pytest.raises(EmotionError, match="FindingEmo image root is not a folder"):
        load_findingemo(path, tmp_path / "nowhere")


# ----- imagefolder ------------------------------------------------------------------------------------


def test_class_subfolders(tmp_path):
    solid(tmp_path / "happy" / "1.png", RED)
    solid(tmp_path / "happy" / "2.jpg", RED)
    solid(tmp_path / "Sad" / "1.png", BLUE)
    solid(tmp_path / "misc" / "1.png", GREEN)
    (tmp_path / "happy" / "notes.txt").write_text("not an image")
    with pytest.warns(DataWarning, match="folder not named after an emotion: 1"):
        samples = load_imagefolder(tmp_path)
        report = samples.report
    assert [(s.category, s.category_set) for s in samples] == [("sadness", "ekman7"), ("joy", "ekman7"),
                                                               ("joy", "ekman7")]
    assert samples[1].image_path == str(tmp_path / "happy" / "1.png") and samples[1].source == "imagefolder"
    assert report.loaded == 3 and report.skipped == {"folder not named after an emotion": 1}

    mikels = tmp_path / "mikels"
    solid(mikels / "awe" / "1.png", RED)
    solid(mikels / "anger" / "1.png", RED)
    assert {s.category_set for s in load_imagefolder(mikels)} == {"mikels8"}
    # A loader's result is a list of samples, ready for the Dataset.
    item = EmotionImageDataset(load_imagefolder(mikels), size=4, category_set="mikels8")[0]
    assert item["category"].item() == get_set("mikels8").index("anger")


def test_imagefolder_errors_name_what_is_accepted(tmp_path):
    solid(tmp_path / "cats" / "1.png", RED)
    with pytest.raises(EmotionError, match=r"none of its folders \(cats\) is named after an emotion; accepted"):
        load_imagefolder(tmp_path)
    with pytest.raises(EmotionError, match="imagefolder root is not a folder"):
        load_imagefolder(tmp_path / "nope")


def test_metadata_jsonl_bad_rows_are_skipped_and_counted(tmp_path):
    for name in ("a", "b", "c", "d"):
        solid(tmp_path / f"{name}.png", WHITE)
    lines = [
        json.dumps({"file_name": "a.png", "text": "a smiling person", "category": "happy", "valence": 0.7,
                    "arousal": "0.4", "photographer": "kim"}),
        "{not json",
        json.dumps({"caption": "no file"}),
        json.dumps({"file_name": "b.png", "category": "happpy"}),
        json.dumps({"file_name": "c.png", "valence": 2}),
        json.dumps({"file_name": "gone.png", "category": "joy"}),
        json.dumps(["a", "list"]),
        json.dumps({"file_name": "a.png", "attributes": ["not", "an", "object"]}),
        "",
        json.dumps({"file_name": "d.png", "caption": "calm", "valence": -0.1, "arousal": -0.6}),
    ]
    (tmp_path / METADATA_FILE).write_text("\n".join(lines) + "\n")
    with pytest.warns(DataWarning, match="loaded 2; skipped 7"):
        samples = load_imagefolder(tmp_path)
        report = samples.report
    first, last = samples
    assert (first.caption, first.category, first.valence, first.arousal) == ("a smiling person", "joy", 0.7, 0.4)
    assert first.attributes == {"photographer": "kim"} and first.source == "imagefolder"
    assert (last.caption, last.category, last.valence, last.arousal) == ("calm", None, -0.1, -0.6)
    assert report.skipped == {"malformed row": 3, "invalid label": 2, "missing image": 1, "bad value": 1}
    assert any(f"{METADATA_FILE}:2" in where for where in report.examples["malformed row"])
    assert any("did you mean 'happy'" in where for where in report.examples["invalid label"])


def test_metadata_csv(tmp_path):
    solid(tmp_path / "x.png", WHITE)
    write_csv(tmp_path / "metadata.csv", ["file_name", "caption", "category", "valence", "arousal", "blendshapes"],
              [["x.png", "a face", "surprised", "0.4", "", '{"jawOpen": 0.9}']])
    (sample,) = load_imagefolder(tmp_path)
    assert (sample.category, sample.valence, sample.arousal) == ("surprise", 0.4, None)
    assert sample.blendshapes == {"jawOpen": 0.9} and sample.caption == "a face"


def test_check_images_drops_unreadable_files(tmp_path):
    good = solid(tmp_path / "good.png", RED)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    samples = [EmotionSample(image_path=good, category="joy"),
               EmotionSample(image_path=tmp_path / "corrupt.jpg", category="joy"),
               EmotionSample(image_path=good, crop_box=(100, 100, 120, 120), category="joy")]
    with pytest.warns(DataWarning, match="unreadable image: 2"):
        kept = check_images(samples)
        report = kept.report
    assert kept == samples[:1] and report.skipped == {"unreadable image": 2}
    assert "corrupt.jpg" in report.examples["unreadable image"][0]


# ----- torch Dataset ------------------------------------------------------------------------------------


def test_dataset_tensors_shapes_ranges_and_labels(tmp_path):
    gradient = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (20, 1, 3))
    samples = [
        EmotionSample(image=Image.new("RGB", (10, 10), RED), category="sadness", valence=-0.6, arousal=-0.2),
        EmotionSample(image=gradient, category="contempt", category_set="mead8"),
        EmotionSample(image=Image.new("RGB", (7, 9), WHITE), valence=0.3, arousal=0.1),
    ]
    dataset = EmotionImageDataset(samples, size=(16, 24), category_set="ekman7")
    assert len(dataset) == 3
    red = dataset[0]
    assert red["pixel_values"].shape == (3, 16, 24) and red["pixel_values"].dtype == torch.float32
    assert torch.allclose(red["pixel_values"][:, 5, 5], torch.tensor([1.0, -1.0, -1.0]))
    assert red["category"].item() == get_set("ekman7").index("sadness") and red["category"].dtype == torch.long
    assert red["valence"].item() == pytest.approx(-0.6) and red["has_va"].item() is True

    contempt = dataset[1]
    assert contempt["pixel_values"].min() >= -1.0 and contempt["pixel_values"].max() <= 1.0
    assert contempt["pixel_values"].min() < -0.9 and contempt["pixel_values"].max() > 0.9
    rolled_up = Emotion.from_category("contempt", category_set="ekman7").top
    assert contempt["category"].item() == get_set("ekman7").index(rolled_up)
    assert contempt["has_va"].item() is False and contempt["valence"].item() == 0.0

    assert dataset[2]["category"].item() == -1 and dataset[2]["has_va"].item() is True

    batch = next(iter(torch.utils.data.DataLoader(dataset, batch_size=3)))
    assert batch["pixel_values"].shape == (3, 3, 16, 24) and batch["category"].shape == (3,)


def test_dataset_transform_and_size_checks():
    half = np.zeros((8, 8, 3), np.uint8)
    half[:, :4] = 255  # white left half
    flip = lambda image: image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # noqa: E731
    item = EmotionImageDataset([EmotionSample(image=half, category="joy")], size=8, transform=flip)[0]
    assert item["pixel_values"].shape == (3, 8, 8)
    assert (item["pixel_values"][:, :, :4] == -1).all() and (item["pixel_values"][:, :, 4:] == 1).all()
    with pytest.raises(EmotionError, match="transform must return a PIL image"):
        EmotionImageDataset([EmotionSample(image=half)], size=8, transform=lambda image: 3)[0]
    with pytest.raises(EmotionError, match="size must be a positive int"):
        EmotionImageDataset([], size=0)
    with pytest.raises(EmotionError, match="unknown category set"):
        EmotionImageDataset([], size=8, category_set="plutchik")
