"""`make demo`: the main job on the embedded defaults, writing real outputs to out/.

Each stage is added as its modality lands; every stage writes its files atomically under --out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogen.emotion import Emotion, EmotionArc
from emogen.io import save_atomic, write_json_atomic

DEMO_SPECS = ["joy", "joy:0.4", "sadness", "0.6 joy + 0.4 surprise", "v=-0.7,a=0.7", "v=0.6,a=-0.5", "contempt", "awe"]
DEMO_ARC = "neutral@0 -> joy@1.5 -> sadness@3"


def describe_emotions(out: Path) -> None:
    """The emotion language: how each spec reads, and an arc sampled at 5 fps."""
    table = {spec: Emotion.parse(spec).to_dict() for spec in DEMO_SPECS}
    for spec, data in table.items():
        print(f"{spec:<24} -> {data['top']:<11} v={data['valence']:+.2f} a={data['arousal']:+.2f} i={data['intensity']:.2f}")
    arc = EmotionArc.parse(DEMO_ARC)
    frames = [{"time": float(t), **arc.at(float(t)).to_dict()} for t in arc.frame_times(5)]
    write_json_atomic(out / "emotions.json", {"specs": table, "arc": {"spec": DEMO_ARC, "fps": 5, "frames": frames}})
    print(f"wrote {out / 'emotions.json'}")


def render_avatars(out: Path) -> None:
    """The EmoFaces avatar: a sheet of the demo emotions on three identities, and the arc as a GIF."""
    from PIL import Image

    from emogen.face.avatar import render_emotion

    size = 128
    from emogen.score.registry import get_scorer

    scorer = get_scorer("emofaces")
    sheet = Image.new("RGB", (size * len(DEMO_SPECS), size * 3), "white")
    for column, spec in enumerate(DEMO_SPECS):
        faces = [render_emotion(Emotion.parse(spec, "mead8"), seed, size) for seed in (3, 11, 42)]
        for row, face in enumerate(faces):
            sheet.paste(face, (column * size, row * size))
        measured = [scorer.score(face).top1 for face in faces]
        print(f"  {spec:<24} requested {Emotion.parse(spec, 'mead8').top:<9} measured by emofaces: {', '.join(measured)}")
    save_atomic(sheet, out / "avatar_emotions.png")
    arc = EmotionArc.parse(DEMO_ARC)
    frames = [render_emotion(emotion, 7, 160) for emotion in arc.sample(12)]
    save_atomic(frames[0], out / "avatar_arc.gif", save_all=True, append_images=frames[1:], duration=1000 // 12, loop=0)
    print(f"wrote {out / 'avatar_emotions.png'} ({', '.join(DEMO_SPECS)}) and {out / 'avatar_arc.gif'} ({DEMO_ARC})")


DEMO_PROMPT = "a cartoon portrait of a person with curly auburn hair, light skin and round glasses, wearing a teal shirt"
IMAGE_SPECS = ["joy", "sadness", "anger", "surprise", "contempt"]


def generate_images(out: Path) -> None:
    """The shipped image model (checkpoints/emofaces-image): one face per emotion, best of 4 by the
    EmoFaces scorer, and a 5 x 5 valence-arousal grid; each PNG carries its prompt, emotion and scores."""
    from emogen.cli import main as emogen

    for spec in IMAGE_SPECS:
        code = emogen(["image", "--prompt", DEMO_PROMPT, "--emotion", spec, "--seed", "1", "--best-of", "4",
                       "--out", str(out / f"image_{spec}.png")])
        if code != 0:
            raise SystemExit(f"emogen image failed for {spec!r} (exit {code})")
    if emogen(["image", "--prompt", DEMO_PROMPT, "--grid", "5", "--seed", "1", "--out", str(out / "image_va_grid.png")]):
        raise SystemExit("emogen image --grid failed")


SPEECH_TEXT = "I never thought we would see the sea again."
SPEECH_SPECS = ["neutral", "joy", "sadness", "anger", "fear"]
SPEECH_ARC = "sadness@0 -> joy@2.5"
MUSIC_ARC = "sadness@0 -> joy@8 -> anger@16"


def speak_and_compose(out: Path) -> None:
    """Speech (espeak-ng + the prosody plan) in five emotions and along an arc, and a soundtrack that
    follows an arc; each WAV has a JSON sidecar with its plan and measured scores."""
    from emogen.cli import main as emogen

    jobs = [["speak", SPEECH_TEXT, "--emotion", spec, "--out", str(out / f"speech_{spec}.wav")] for spec in SPEECH_SPECS]
    jobs.append(["speak", SPEECH_TEXT, "--emotion", SPEECH_ARC, "--out", str(out / "speech_arc.wav")])
    jobs.append(["music", "--emotion", MUSIC_ARC, "--seconds", "24", "--seed", "0", "--out", str(out / "music_arc.wav"),
                 "--midi", str(out / "music_arc.mid")])
    for job in jobs:
        if emogen(job) != 0:
            raise SystemExit(f"emogen {' '.join(job)} failed")


VIDEO_ARC = "joy@0 -> sadness@3.75"


def make_video(out: Path) -> None:
    """The shipped video model (checkpoints/emofaces-video): 16 frames whose emotion follows an arc, as mp4
    and GIF, with per-frame targets and scores in video_arc.json."""
    from emogen.cli import main as emogen

    if emogen(["video", "--prompt", DEMO_PROMPT, "--emotion", VIDEO_ARC, "--frames", "16", "--fps", "4",
               "--seed", "1", "--gif", "--out", str(out / "video_arc.mp4")]) != 0:
        raise SystemExit("emogen video failed")


TALK_TEXT = "We found the boat at last, and nobody believed us."
TALK_ARC = "sadness@0 -> joy@2"


def make_talking_head(out: Path) -> None:
    """An avatar speaking along an arc (mp4 with speech and a soundtrack under it), its ARKit tracks as CSV."""
    from emogen.cli import main as emogen

    if emogen(["talk", "--portrait", "avatar:3", "--text", TALK_TEXT, "--emotion", TALK_ARC, "--soundtrack",
               "--out", str(out / "talk_arc.mp4"), "--blendshapes", str(out / "talk_arc.csv")]) != 0:
        raise SystemExit("emogen talk failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    describe_emotions(args.out)
    render_avatars(args.out)
    speak_and_compose(args.out)
    generate_images(args.out)
    make_video(args.out)
    make_talking_head(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
