"""`emogen talk` end to end: real speech, real ffmpeg, real landmarker and scorer; bad input exits 2 and writes nothing."""
import csv
import json
import subprocess
import sys
import wave

import numpy as np
import pytest

from emogen.audio import write_wav
from emogen.errors import EmotionError
from emogen.videofile import has_audio_stream, read_video

pytest.importorskip("mediapipe")


def emogen(*args):
    return subprocess.run([sys.executable, "-m", "emogen.cli", *args], capture_output=True, text=True, timeout=300)


def emogen_here(*args, capsys):
    """The CLI in this process (no interpreter start-up): exit status and stderr."""
    from emogen.cli import main

    try:
        status = main(["talk", *args])
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    return status, capsys.readouterr().err


def outputs(tmp_path):
    return sorted(p.name for p in tmp_path.iterdir())


@pytest.mark.slow
def test_talk_writes_video_sidecar_and_tracks(tmp_path):
    out, tracks = tmp_path / "talk.mp4", tmp_path / "talk.csv"
    result = emogen("talk", "--portrait", "avatar:3", "--text", "Hello there, we found the boat!",
                    "--emotion", "joy@0 -> surprise@1.2", "--out", str(out), "--blendshapes", str(tracks),
                    "--seed", "4")
    assert result.returncode == 0, result.stderr
    assert "lip sync r=" in result.stderr and "real-time factor" in result.stderr
    sidecar = json.loads((tmp_path / "talk.json").read_text())
    frames, fps = read_video(out)
    assert fps == 25 and frames.shape[1:] == (256, 256, 3) and has_audio_stream(out)
    assert len(frames) == sidecar["n_frames"] == len(sidecar["targets"]) == sidecar["tracks"]["n_frames"]
    assert sidecar["duration_s"] * 25 <= sidecar["n_frames"] < sidecar["duration_s"] * 25 + 1
    assert sidecar["inputs"]["portrait"] == "avatar:3" and sidecar["inputs"]["seed"] == 4
    assert sidecar["mouth"].startswith("visemes") and sidecar["speech"]["phonemes"]
    assert sidecar["targets"][0]["top"] == "joy" and sidecar["targets"][-1]["top"] == "surprise"
    scores = sidecar["scores"]
    sync = scores["lip_sync"]
    assert sync["frames_measured"] == len(frames) and abs(sync["lag_frames"]) <= 10
    assert sync["correlation"] > 0.2  # the landmarker sees the mouth move with the speech
    assert scores["expression_scorer"] == "emofaces" and scores["expression"]["frames"] >= len(frames) // 2
    assert scores["expression"]["accuracy"] >= 0.6 and scores["expression"]["clip_top"] in ("joy", "surprise")
    assert len(scores["expression"]["frame_tops"]) == len(scores["expression"]["scored_frames"])
    # Split by speech activity: every scored frame is in one part, and the line prints the parts measured.
    parts = scores["expression"]["while_speaking"], scores["expression"]["in_pauses"]
    assert sum(part["frames"] for part in parts) == scores["expression"]["frames"] and parts[0]["frames"] > 0
    assert f"speaking {parts[0]['accuracy']:.0%}" in result.stderr
    assert scores["identity"]["frames_compared"] == 8 and 0 < scores["identity"]["face_ssim"] <= 1
    assert set(sidecar["seconds"]) >= {"speech", "motion", "render", "total"} and sidecar["real_time_factor"] > 0
    rows = list(csv.reader(tracks.open()))
    assert rows[0][:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"] and len(rows) == len(frames) + 1
    assert outputs(tmp_path) == ["talk.csv", "talk.json", "talk.mp4"]


@pytest.mark.slow
def test_an_arc_longer_than_the_speech_is_cut_and_said(tmp_path):
    from emogen.talking import talk

    result = talk("avatar", text="Good morning.", emotion="joy@0 -> sadness@30", out=tmp_path / "a.mp4",
                  score=False, size=128)
    assert result.duration < 5 and result.tracks.n_frames < 5 * 25
    assert any("arc runs to 30 s" in w and "cut" in w for w in result.warnings)
    sidecar = json.loads((tmp_path / "a.json").read_text())
    assert sidecar["warnings"] == list(result.warnings) and "lip_sync" not in sidecar["scores"]
    # The part of the arc that is shown: still on its way from joy, nowhere near sadness.
    assert sidecar["targets"][-1]["top"] == "joy"


@pytest.mark.slow
def test_the_api_returns_frames_that_follow_the_tracks():
    from emogen.talking import talk

    from emogen.talking.avatar_render import AvatarPortrait

    result = talk("avatar:2", text="Mama made a map.", emotion="surprise", keep_frames=True, score=False, size=128)
    tracks = result.tracks
    assert result.out is None and result.frames.shape == (tracks.n_frames, 128, 128, 3)
    avatar = AvatarPortrait(2, 128)
    for index in (0, tracks.n_frames // 2, tracks.n_frames - 1):
        np.testing.assert_array_equal(result.frames[index],
                                      avatar.render(tracks.blendshapes[index], tuple(tracks.head_pose[index])))


@pytest.mark.slow
def test_a_photo_portrait_goes_through_the_same_path(tmp_path, astronaut):
    from PIL import Image

    photo = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(photo)
    out = tmp_path / "photo.mp4"
    result = emogen("talk", "--portrait", str(photo), "--text", "Hello from orbit.", "--emotion", "surprise",
                    "--out", str(out))
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "photo.json").read_text())
    frames, _ = read_video(out)
    assert frames.shape[1:] == (256, 256, 3) and len(frames) == sidecar["n_frames"]
    assert sidecar["portrait"] == str(photo) and sidecar["scores"]["expression_scorer"] == "fer2013"
    assert sidecar["scores"]["lip_sync"]["frames_measured"] == len(frames)
    assert sidecar["scores"]["identity"]["face_ssim"] > 0.5  # still the same face as the photo


def test_a_photo_talks_with_the_photo_renderers_emotion_faces(astronaut):
    from emogen.face.rig import emotion_to_blendshapes
    from emogen.talking.photo import PHOTO_PROTOTYPE_MATRIX
    from emogen.talking.pipeline import talk

    result = talk(astronaut, text="No.", emotion="anger", score=False)
    np.testing.assert_allclose(result.animation.expression[0], emotion_to_blendshapes("anger", PHOTO_PROTOTYPE_MATRIX),
                               atol=1e-6)


def test_a_speaking_photo_bares_no_teeth_for_a_held_lip_raise(astronaut):
    """talk() gives the photo renderer each frame's speech activity; while speaking, anger's held upper-lip
    raise bares no teeth band (a smile cue on a moving mouth), in the pauses it does."""
    from emogen.talking.photo import PhotoPortrait, teeth_shown
    from emogen.talking.pipeline import talk

    class Recording(PhotoPortrait):
        seen: list = []

        def render(self, blendshapes, pose=None, speaking=0.0):
            self.seen.append((np.asarray(blendshapes, np.float64).copy(), speaking))
            return super().render(blendshapes, pose, speaking)

    portrait = Recording(astronaut)
    portrait.seen = []  # what talk() renders, not the set-up's own probe
    result = talk(portrait, text="Stop that, now.", emotion="anger", score=False)
    speaking = [s for _, s in portrait.seen]
    assert len(speaking) == result.animation.tracks.n_frames
    np.testing.assert_allclose(speaking, result.animation.activity)
    assert max(speaking) == 1.0
    values, _ = max(portrait.seen, key=lambda seen: seen[1])
    assert teeth_shown(values, speaking=1.0) < teeth_shown(values, speaking=0.0) - 0.3


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wavs")
    rate = 16000
    t = np.arange(rate) / rate
    write_wav(folder / "silent.wav", np.zeros(rate), rate)
    write_wav(folder / "short.wav", 0.5 * np.sin(2 * np.pi * 200 * t[: rate // 20]), rate)
    with wave.open(str(folder / "eight_bit.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(rate)
        handle.writeframes((128 + 60 * np.sin(2 * np.pi * 200 * t)).astype(np.uint8).tobytes())
    (folder / "speech.mp3").write_bytes(b"ID3\x03\x00\x00\x00" + bytes(200))
    (folder / "text.wav").write_text("not audio at all")
    write_wav(folder / "low_rate.wav", 0.5 * np.sin(2 * np.pi * 200 * t[:4000]), 4000)
    return folder


@pytest.mark.parametrize("args, fragment", [
    (["--text", "hi", "--emotion", "glee"], "unknown emotion category 'glee'"),
    (["--text", "hi", "--emotion", "joy@2 -> sadness@1"], "keyframe times must increase"),
    (["--text", "   "], "--text is empty"),
    (["--text", "hi", "--audio", "x.wav"], "not allowed with argument"),
    (["--emotion", "joy"], "one of the arguments --text --audio is required"),
    (["--text", "hi", "--portrait", "avatar:x"], "'avatar:SEED'"),
    (["--text", "hi", "--portrait", "missing.png"], "missing.png"),
    (["--text", "hi", "--size", "1000"], "size must be an integer from 64 to 512"),
    (["--text", "hi", "--fps", "0"], "fps must be from 1 to 120"),
    (["--text", "hi", "--seed", "-1"], "seed must be an integer >= 0"),
    (["--text", "hi", "--blendshapes", "TRACKS.txt"], "must end in .csv or .json"),
    (["--audio", "WAVS/silent.wav"], "is silent"),
    (["--audio", "WAVS/short.wav"], "lasts 0.050 s; accepted: 0.2 to 600 s"),
    (["--audio", "WAVS/eight_bit.wav"], "8-bit samples; only 16-bit PCM WAV"),
    (["--audio", "WAVS/speech.mp3"], "only WAV files are read"),
    (["--audio", "WAVS/text.wav"], "not a readable WAV"),
    (["--audio", "WAVS/low_rate.wav"], "sample rate 4000 Hz; accepted: 8000 to 192000"),
    (["--audio", "WAVS/missing.wav"], "is not a file"),
    (["--audio", "WAVS/silent.wav", "--voice", "de"], "keeps its voice"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, wavs, args, fragment, capsys):
    args = [a.replace("WAVS", str(wavs)).replace("TRACKS", str(tmp_path / "tracks")) for a in args]
    status, stderr = emogen_here(*args, "--out", str(tmp_path / "talk.mp4"), capsys=capsys)
    assert status == 2, stderr
    assert fragment in stderr
    assert outputs(tmp_path) == []


def test_wrong_output_suffix_and_a_failure_keep_existing_files(tmp_path, capsys):
    status, stderr = emogen_here("--text", "hi", "--out", str(tmp_path / "talk.avi"), capsys=capsys)
    assert status == 2 and "--out must be an .mp4 file" in stderr
    old = tmp_path / "talk.mp4"
    old.write_bytes(b"an older video")
    (tmp_path / "talk.json").write_text("{}")
    result = emogen("talk", "--text", "hi", "--emotion", "hapy", "--out", str(old))  # one real process end to end
    assert result.returncode == 2 and "did you mean" in result.stderr and "Traceback" not in result.stderr
    assert old.read_bytes() == b"an older video" and (tmp_path / "talk.json").read_text() == "{}"
    assert outputs(tmp_path) == ["talk.json", "talk.mp4"]


def test_a_failure_while_rendering_leaves_no_partial_file(tmp_path):
    """A renderer that breaks half-way: the mp4, sidecar and tracks must all be absent afterwards."""
    from emogen.talking import talk
    from emogen.talking.avatar_render import AvatarPortrait

    class BreaksHalfway(AvatarPortrait):
        calls = 0

        def render(self, blendshapes, pose=None):
            BreaksHalfway.calls += 1
            if BreaksHalfway.calls > 10:
                raise EmotionError("renderer broke at frame 10")
            return super().render(blendshapes, pose)

    with pytest.raises(EmotionError, match="broke at frame 10"):
        talk(BreaksHalfway(0, 128), text="Hello there, how are you?", out=tmp_path / "t.mp4",
             blendshapes=tmp_path / "t.csv", score=False)
    assert outputs(tmp_path) == []


@pytest.mark.slow
def test_talk_lip_syncs_a_wav_with_the_learned_model(tmp_path):
    from emogen.speech.speak import speak

    spoken = speak("We found the boat on Monday.", emotion="neutral").utterance
    wav = tmp_path / "said.wav"
    write_wav(wav, spoken.audio, spoken.sample_rate)
    result = emogen("talk", "--audio", str(wav), "--emotion", "anger", "--out", str(tmp_path / "t.mp4"))
    assert result.returncode == 0, result.stderr
    sidecar = json.loads((tmp_path / "t.json").read_text())
    assert sidecar["mouth"].startswith("learned audio-to-mouth") and sidecar["speech"]["source"] == "audio"
    assert sidecar["scores"]["lip_sync"]["correlation"] > 0.2
    assert sidecar["scores"]["expression"]["per_target"]["anger"] >= 0.6
