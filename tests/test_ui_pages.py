"""Every page of the Streamlit UI under Streamlit's AppTest: real widgets, real generators, real files."""
from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from emogen.errors import EmotionError  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"
TIMEOUT = 180


@pytest.fixture(autouse=True)
def ui_out(tmp_path, monkeypatch) -> Path:
    out = tmp_path / "ui-out"
    monkeypatch.setenv("EMOGEN_UI_OUT", str(out))
    return out


def page(name: str) -> AppTest:
    return AppTest.from_string(f"from emogen.ui.pages.{name} import render\nrender()", default_timeout=TIMEOUT).run()


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def elements(at: AppTest, kind: str) -> list:
    return list(at.get(kind))


def test_app_navigation_lists_the_pages_and_opens_on_image():
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Image"]
    from emogen.ui.app import PAGE_MODULES, available_page_modules

    titles = [module.TITLE for module in available_page_modules()]
    assert {"Image", "Speech", "Music", "Batch gallery", "Score a file"} <= set(titles)
    assert len(titles) <= len(PAGE_MODULES)


def test_va_sliders_drive_the_spec_and_a_plane_click_moves_them():
    at = page("image")
    assert "Spec: `v=0.60,a=0.40`" in captions(at)
    at.slider(key="image-valence").set_value(-0.5).run()
    assert "Spec: `v=-0.50,a=0.40`" in captions(at)
    # A click on the plane arrives as the chart's selection state; the sliders follow it, once.
    at.session_state["image-plane"] = {"selection": {"va": [{"valence": 0.25, "arousal": -0.75}]}}
    at.run()
    assert "Spec: `v=0.25,a=-0.75`" in captions(at)
    at.slider(key="image-arousal").set_value(0.1).run()  # a later slider move is not undone by the old click
    assert "Spec: `v=0.25,a=0.10`" in captions(at)


def test_mixture_and_written_spec_modes():
    at = page("image")
    at.radio(key="image-mode").set_value("Category mixture").run()
    at.multiselect(key="image-categories").set_value(["joy", "surprise"]).run()
    at.slider(key="image-weight-surprise").set_value(0.5).run()
    assert "Spec: `0.667 joy:0.80 + 0.333 surprise:0.80`" in captions(at)
    at.radio(key="image-mode").set_value("Written spec").run()
    at.text_input(key="image-spec").set_value("joy + blorp").run()
    assert any("blorp" in e.value for e in at.error)  # the parser's message names the bad word
    assert at.button(key="image-generate").disabled


@pytest.mark.slow
def test_image_page_generates_scores_and_saves(ui_out):
    at = page("image")
    at.radio(key="image-mode").set_value("Written spec").run()
    at.text_input(key="image-spec").set_value("joy").run()
    at.button(key="image-generate").click().run()
    assert not at.exception
    assert not at.error
    assert len(elements(at, "image")) == 1
    assert [s.value for s in at.subheader] == ["Measured emotion"]
    assert any("requested **joy**" in i.value for i in at.info)
    [png] = (ui_out / "image").glob("*.png")
    sidecar = json.loads(png.with_suffix(".json").read_text())
    assert sidecar["params"]["emotion"] == "joy" and sidecar["scores"]["scorer"] == "emofaces"
    assert len(elements(at, "download_button")) == 1


def test_image_page_reports_a_bad_model_without_a_traceback(tmp_path):
    at = page("image")
    at.text_input(key="image-model").set_value(str(tmp_path / "no-such-model")).run()
    at.button(key="image-generate").click().run()
    assert not at.exception
    assert any("no-such-model" in e.value for e in at.error)


@pytest.mark.slow
def test_speech_page_speaks_an_arc(ui_out):
    at = page("speech")
    at.radio(key="speech-mode").set_value("Arc over time").run()
    assert not at.error
    at.button(key="speech-generate").click().run()
    assert not at.exception and not at.error
    assert len(elements(at, "audio")) == 1
    [wav] = (ui_out / "speech").glob("*.wav")
    assert json.loads(wav.with_suffix(".json").read_text())["params"]["emotion"] == "neutral@0s -> joy@2s"


def test_speech_page_rejects_empty_text():
    at = page("speech")
    at.text_area(key="speech-text").set_value("   ").run()
    at.button(key="speech-generate").click().run()
    assert not at.exception
    assert any("text" in e.value for e in at.error)
    assert not elements(at, "audio")


def test_music_page_composes(ui_out):
    at = page("music")
    at.slider(key="music-seconds").set_value(4).run()
    at.button(key="music-generate").click().run()
    assert not at.exception and not at.error
    assert len(elements(at, "audio")) == 1
    assert any("Quadrant" == m.label for m in at.metric)
    assert len(list((ui_out / "music").glob("*.wav"))) == 1


def test_gallery_shows_a_batch_folder(tmp_path, monkeypatch):
    from emogen.batch.run import run_batch

    monkeypatch.chdir(tmp_path)  # the default folder, out/batch, does not exist here
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text("- {modality: music, emotion: joy, seconds: 4}\n- {modality: music, emotion: sadness, seconds: 4}\n")
    run_batch(jobs, tmp_path / "batch", progress=False)
    at = page("gallery")
    assert any("No manifest.jsonl" in i.value for i in at.info)
    at.text_input(key="gallery-folder").set_value(str(tmp_path / "batch")).run()
    assert not at.exception
    assert len(elements(at, "audio")) == 2
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 2
    assert [m.label for m in at.metric][:1] == ["Jobs shown"]


def _wav_bytes(path: Path, audio: np.ndarray, rate: int) -> bytes:
    from emogen.audio import write_wav

    write_wav(path, audio, rate)
    return path.read_bytes()


def test_score_uploads_images_music_and_speech(tmp_path):
    from emogen.face.avatar import render_emotion
    from emogen.speech.speak import speak
    from emogen.ui.pages.score import KINDS, score_upload

    image = tmp_path / "face.png"
    render_emotion("joy", 3, size=64).save(image)
    scores = score_upload(KINDS[0], "face.png", image.read_bytes(), "emofaces")
    assert abs(sum(scores["probs"].values()) - 1) < 1e-6 and scores["scorer"] == "emofaces"

    song = np.sin(2 * np.pi * 440 * np.arange(22050 * 3) / 22050).astype(np.float32) * 0.3
    assert "quadrant" in score_upload(KINDS[1], "tone.wav", _wav_bytes(tmp_path / "t.wav", song, 22050))["overall"]

    angry, neutral = speak("We need to talk about this now.", emotion="anger"), speak("We need to talk about this now.", emotion="neutral")
    scores = score_upload(KINDS[2], "angry.wav", _wav_bytes(tmp_path / "a.wav", angry.utterance.audio, angry.utterance.sample_rate),
                          reference=("neutral.wav", _wav_bytes(tmp_path / "n.wav", neutral.utterance.audio,
                                                               neutral.utterance.sample_rate)))
    assert scores["arousal"] > 0 and "cues" in scores


def test_score_upload_rejects_bad_files(tmp_path):
    from emogen.ui.pages.score import KINDS, MAX_UPLOAD_MB, score_upload

    with pytest.raises(EmotionError, match=r"\.txt file; accepted here: \.png"):
        score_upload(KINDS[0], "notes.txt", b"hello")
    with pytest.raises(EmotionError, match=f"at most {MAX_UPLOAD_MB} MB"):
        score_upload(KINDS[0], "big.png", b"0" * (MAX_UPLOAD_MB * 2**20 + 1))
    with pytest.raises(EmotionError, match="not a readable image"):
        score_upload(KINDS[0], "broken.png", b"not a png at all")
    with pytest.raises(EmotionError, match="not a readable WAV"):
        score_upload(KINDS[1], "broken.wav", b"RIFF....nope")
    with pytest.raises(EmotionError, match="neutral recording"):
        buffer = tmp_path / "x.wav"
        score_upload(KINDS[2], "x.wav", _wav_bytes(buffer, np.zeros(8000, np.float32), 8000))


def test_score_page_without_upload_asks_for_one():
    at = page("score")
    assert not at.exception
    assert any("Upload a file" in i.value for i in at.info)
    at.radio(key="score-kind").set_value("Speech (WAV + neutral reference)").run()
    assert not at.exception


def test_ui_command_binds_localhost_by_default_and_checks_the_port():
    from emogen.cli import build_parser
    from emogen.ui.commands import streamlit_command

    args = build_parser("ui").parse_args(["ui"])
    assert args.host == "127.0.0.1"
    command = streamlit_command(args.host, args.port)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    with pytest.raises(EmotionError, match="--port must be from 1 to 65535, got 70000"):
        streamlit_command("127.0.0.1", 70000)


@pytest.mark.slow
def test_talk_page_animates_the_avatar(ui_out):
    at = page("talk")
    at.text_area(key="talk-text").set_value("Hello there.").run()
    at.select_slider(key="talk-size").set_value(128).run()
    at.button(key="talk-generate").click().run()
    assert not at.exception and not at.error
    assert len(elements(at, "video")) == 1
    [mp4] = (ui_out / "talk").glob("*.mp4")
    assert json.loads(mp4.with_suffix(".json").read_text())["params"]["portrait"] == "avatar:0"


@pytest.mark.slow
def test_talk_page_shows_what_the_animator_warned_about(ui_out):
    """An arc that outlasts the speech is cut at its end; the page says so where the video is shown."""
    from emogen.ui.widgets import INPUT_MODES

    at = page("talk")
    at.text_area(key="talk-text").set_value("Hello.").run()
    at.select_slider(key="talk-size").set_value(128).run()
    at.radio(key="talk-mode").set_value(INPUT_MODES[-1]).run()
    at.text_input(key="talk-spec").set_value("joy@0 -> sadness@30").run()
    at.button(key="talk-generate").click().run()
    assert not at.exception and not at.error
    assert any("the emotion arc runs to 30 s" in w.value for w in at.warning), [w.value for w in at.warning]


@pytest.mark.parametrize("name", ["speech", "talk"])
def test_a_written_spec_beside_the_text_to_speak(name):
    """The pages with a text to speak also take a written emotion spec (the two fields once shared a key,
    and choosing "Written spec" there stopped the page)."""
    from emogen.ui.widgets import INPUT_MODES

    at = page(name)
    at.radio(key=f"{name}-mode").set_value(INPUT_MODES[-1]).run()
    at.text_input(key=f"{name}-spec").set_value("0.6 sadness + 0.4 fear").run()
    assert not at.exception and not at.error
    assert "Spec: `0.6 sadness + 0.4 fear`" in captions(at)
    assert at.text_area(key=f"{name}-text").value


def test_talk_page_waits_for_a_photo():
    at = page("talk")
    at.radio(key="talk-portrait").set_value("Upload a photo").run()
    assert at.button(key="talk-generate").disabled


@pytest.mark.slow
def test_video_page_makes_a_clip_along_an_arc(ui_out):
    at = page("video")
    at.radio(key="video-mode").set_value("Written spec").run()
    at.text_input(key="video-spec").set_value("joy@0 -> sadness@0.25").run()
    at.slider(key="video-frames").set_value(3).run()
    at.number_input(key="video-steps").set_value(2).run()
    at.number_input(key="video-noise-correlation").set_value(0.9).run()
    at.number_input(key="video-emotion-scale").set_value(1.2).run()
    at.button(key="video-generate").click().run()
    assert not at.exception and not at.error
    assert len(elements(at, "video")) == 1
    assert len(list((ui_out / "video").glob("*.mp4"))) == 1
    sidecar = json.loads(next((ui_out / "video").glob("*.json")).read_text())
    assert sidecar["params"]["noise_correlation"] == 0.9
    assert sidecar["details"]["settings"]["noise_correlation"] == 0.9
    assert sidecar["details"]["settings"]["emotion_scale"] == pytest.approx(1.2)


def test_video_page_refuses_an_arc_longer_than_the_clip():
    at = page("video")
    at.radio(key="video-mode").set_value("Written spec").run()
    at.text_input(key="video-spec").set_value("joy@0 -> sadness@9").run()
    at.button(key="video-generate").click().run()
    assert not at.exception
    assert any("arc lasts 9s" in e.value for e in at.error)
