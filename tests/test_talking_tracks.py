"""Motion tracks: the Live Link Face CSV layout, JSON, round trips and refusals."""
import csv
import json

import numpy as np
import pytest

from emogen.errors import EmotionError
from emogen.face.rig import BLENDSHAPE_INDEX, BLENDSHAPE_NAMES
from emogen.talking.tracks import CSV_HEADER, LIVE_LINK_ORDER, MotionTracks, timecode


def random_tracks(n=40, fps=25.0, seed=0, gaze=True):
    rng = np.random.default_rng(seed)
    return MotionTracks(fps, rng.uniform(0, 1, (n, 52)), rng.uniform(-20, 20, (n, 3)),
                        rng.uniform(-10, 10, (n, 2)) if gaze else None)


def test_live_link_order_is_a_permutation_of_the_rig_names():
    assert sorted(LIVE_LINK_ORDER) == sorted(BLENDSHAPE_NAMES) and len(set(LIVE_LINK_ORDER)) == 52
    # Unreal's EARFaceBlendShape enum starts with the left eye and ends with the tongue.
    assert LIVE_LINK_ORDER[:2] == ("eyeBlinkLeft", "eyeLookDownLeft") and LIVE_LINK_ORDER[17] == "jawOpen"
    assert LIVE_LINK_ORDER[-1] == "tongueOut"


def test_csv_has_the_live_link_face_layout(tmp_path):
    tracks = random_tracks(n=30)
    path = tracks.save(tmp_path / "t.csv")
    rows = list(csv.reader(path.open()))
    assert tuple(rows[0]) == CSV_HEADER and len(rows[0]) == 2 + 61
    assert rows[0][:4] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]
    assert rows[0][-9:-6] == ["HeadYaw", "HeadPitch", "HeadRoll"]
    assert len(rows) == 31 and all(r[1] == "61" for r in rows[1:])
    assert [r[0] for r in rows[1:3]] == ["00:00:00:00.000", "00:00:00:01.000"]
    jaw = rows[0].index("JawOpen")
    assert float(rows[5][jaw]) == pytest.approx(tracks.channel("jawOpen")[4], abs=1e-6)
    yaw = rows[0].index("HeadYaw")
    assert float(rows[5][yaw]) == pytest.approx(np.radians(tracks.head_pose[4, 0]), abs=1e-5)


def test_timecodes_count_frames_within_each_second():
    assert timecode(0, 25) == "00:00:00:00.000"
    assert timecode(30, 25) == "00:00:01:05.000"
    assert timecode(25 * 3661 + 24, 25) == "01:01:01:24.000"
    assert timecode(31, 30) == "00:00:01:01.000"


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_round_trip(tmp_path, suffix):
    tracks = random_tracks()
    back = MotionTracks.load(tracks.save(tmp_path / f"t{suffix}"), fps=25.0)
    assert back.n_frames == tracks.n_frames and back.fps == 25.0
    np.testing.assert_allclose(back.blendshapes, tracks.blendshapes, atol=1e-5)
    np.testing.assert_allclose(back.head_pose, tracks.head_pose, atol=1e-3)
    np.testing.assert_allclose(back.gaze, tracks.gaze, atol=1e-3)


def test_json_names_every_channel(tmp_path):
    tracks = random_tracks(gaze=False)
    data = json.loads(tracks.save(tmp_path / "t.json").read_text())
    assert data["blendshape_names"] == list(BLENDSHAPE_NAMES) and data["fps"] == 25.0
    assert data["head_pose_names"] == ["yaw", "pitch", "roll"] and "gaze_deg" not in data
    assert data["blendshapes"][3][BLENDSHAPE_INDEX["jawOpen"]] == pytest.approx(float(tracks.channel("jawOpen")[3]), abs=1e-5)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"fps": 0}, "positive fps"),
    ({"blendshapes": np.zeros((5, 51))}, r"shape \(n, 52\)"),
    ({"blendshapes": np.full((5, 52), 1.5)}, r"in \[0, 1\]"),
    ({"blendshapes": np.zeros((0, 52)), "head_pose": np.zeros((0, 3))}, "at least one frame"),
    ({"head_pose": np.zeros((4, 3))}, "head_pose has 4 frames"),
    ({"head_pose": np.full((5, 3), np.nan)}, "NaN"),
])
def test_bad_tracks_are_refused(kwargs, fragment):
    args = {"fps": 25.0, "blendshapes": np.zeros((5, 52)), "head_pose": np.zeros((5, 3)), **kwargs}
    with pytest.raises(EmotionError, match=fragment):
        MotionTracks(**args)


def test_bad_files_are_refused(tmp_path):
    tracks = random_tracks()
    with pytest.raises(EmotionError, match=r"must end in \.csv or \.json"):
        tracks.save(tmp_path / "t.txt")
    assert not (tmp_path / "t.txt").exists()
    (tmp_path / "other.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(EmotionError, match="not a Live Link Face CSV"):
        MotionTracks.load(tmp_path / "other.csv", fps=25)
    with pytest.raises(EmotionError, match="needs its fps"):
        MotionTracks.load(tracks.save(tmp_path / "t.csv"))
