"""`emogen video`: prompt + emotion arc (+ a still to animate) -> an H.264 mp4 (+ GIF) and a JSON sidecar
with every frame's target emotion and scores.

Bad values are refused before the model loads; the mp4, GIF and sidecar are written (each atomically)
only after the clip is generated and scored, so a failure leaves no partial file.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emogen.cli import UsageError
from emogen.emotion import EmotionArc
from emogen.errors import EmotionError

DEVICES = ("cpu", "cuda")
SOUNDTRACK_RATE = 22050


def register(subparsers: argparse._SubParsersAction) -> None:
    # No torch or diffusers imported here: `emogen --help` registers every command.
    parser = subparsers.add_parser(
        "video",
        help="generate a clip whose emotion follows an arc (text- or image-to-video)",
        description="Generate an mp4 from a prompt and an emotion arc ('joy@0 -> sadness@1.5'), optionally "
                    "animating a still (--image); every frame is scored and the JSON sidecar records the "
                    "per-frame targets and scores and how closely the measured arc follows the requested one.",
    )
    parser.add_argument("--prompt", required=True, help="what to show, e.g. 'a cartoon portrait of a person'")
    parser.add_argument("--emotion", required=True,
                        help="an emotion ('joy') or an arc 'joy@0 -> sadness@1.5' (seconds; must end by the last frame)")
    parser.add_argument("--image", type=Path, help="a still to animate (image-to-video)")
    parser.add_argument("--strength", type=float, default=0.6,
                        help="with --image: how much of the still is re-drawn, 0 (kept) .. 1 (ignored); default 0.6")
    parser.add_argument("--anchor-first-frame", action="store_true",
                        help="with --image: the first frame stays exactly the still")
    parser.add_argument("--frames", type=int, default=16, help="number of frames (default 16)")
    parser.add_argument("--fps", type=float, default=8.0, help="frames per second, 1..120 (default 8)")
    parser.add_argument("--out", required=True, type=Path, help="output .mp4 file (sidecar: same name, .json)")
    parser.add_argument("--soundtrack", action="store_true",
                        help="add music that follows the same emotion arc as the mp4's audio (emogen.music)")
    parser.add_argument("--gif", action="store_true", help="also write the clip as a GIF beside the mp4")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's recommended, else 25)")
    parser.add_argument("--guidance", type=float, help="guidance scale (default: the model's recommended, else 3)")
    parser.add_argument("--emotion-scale", type=float, metavar="S",
                        help="emotion conditioning strength: 0 none, 1 as trained, above 1 stronger (default: the "
                             "model's recommended, else 1)")
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    parser.add_argument("--noise-correlation", type=float, metavar="C",
                        help="how much of the noise all frames share, 0..1: higher is steadier (less flicker) but "
                             "draws less motion such as blinks; default: the model's recommended, else its "
                             "training value")
    parser.add_argument("--model", help="video model folder: an emogen video pipeline, an AnimateDiff folder, or an "
                                        "image model to animate (default: $EMOGEN_VIDEO_MODEL, else the shipped "
                                        "checkpoints/emofaces-video)")
    parser.add_argument("--scorer", default="emofaces", help="per-frame scorer (default emofaces)")
    parser.add_argument("--device", default="cpu", help=f"{' or '.join(DEVICES)} (default cpu)")
    parser.set_defaults(run=run_video)


def check_output(out: Path) -> None:
    """Refuse an output we could not write, before any work."""
    if out.suffix.lower() != ".mp4":
        raise UsageError(f"--out must be an .mp4 file, got {str(out)!r}")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give an .mp4 file name")
    folder = out.parent
    if not folder.is_dir():
        raise UsageError(f"--out {out}: {folder} {'is not a folder' if folder.exists() else 'does not exist'}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: folder {folder} is not writable")


def run_video(args: argparse.Namespace) -> int:
    from emogen.video.generate import check_request

    check_output(args.out)
    for flag, value in (("--steps", args.steps),):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be a positive integer, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.noise_correlation is not None and not 0.0 <= args.noise_correlation <= 1.0:
        raise UsageError(f"--noise-correlation must be in [0, 1], got {args.noise_correlation:g}")
    if args.emotion_scale is not None and not 0.0 <= args.emotion_scale < float("inf"):
        raise UsageError(f"--emotion-scale must be a number >= 0, got {args.emotion_scale:g}")
    if not 0.0 <= args.strength <= 1.0:
        raise UsageError(f"--strength must be in [0, 1], got {args.strength:g}")
    if args.image is None and args.anchor_first_frame:
        raise UsageError("--anchor-first-frame needs --image")
    if args.device not in DEVICES:
        raise UsageError(f"unknown --device {args.device!r}; accepted: {', '.join(DEVICES)}")
    try:
        check_request(args.prompt, args.emotion, args.frames, args.fps, args.image)
    except EmotionError as err:
        # Name the flag: the library's message names the value ("fps must be ..."), the user typed a flag.
        raise EmotionError(_flagged(str(err))) from None
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is available here; use --device cpu")

    from tqdm.auto import tqdm

    from emogen.io import write_json_atomic
    from emogen.video.generate import generate_video
    from emogen.video.loading import default_video_model
    from emogen.videofile import write_video

    model = args.model or default_video_model()
    with tqdm(desc="emogen video", unit="step", file=sys.stderr, dynamic_ncols=True) as bar:
        def progress(step: int, total: int) -> None:
            bar.total = total
            bar.update()

        result = generate_video(
            args.prompt, args.emotion, frames=args.frames, fps=args.fps,
            image=None if args.image is None else str(args.image), strength=args.strength,
            anchor_first_frame=args.anchor_first_frame, steps=args.steps, guidance=args.guidance,
            emotion_scale=args.emotion_scale, seed=args.seed, noise_correlation=args.noise_correlation, model=model,
            device=args.device, scorer=args.scorer,
            callback=progress,
        )
    outputs, audio, sidecar_extra = [args.out], None, {}
    if args.soundtrack:
        from emogen.music.soundtrack import soundtrack

        music = soundtrack(EmotionArc.parse(args.emotion), len(result.frames) / result.fps, SOUNDTRACK_RATE, args.seed)
        audio, sidecar_extra["soundtrack"] = music.audio, music.record
    write_video(args.out, result.frames, result.fps, audio, SOUNDTRACK_RATE if audio is not None else None)
    if args.gif:
        outputs.append(write_video(args.out.with_suffix(".gif"), result.frames, result.fps))
    sidecar = result.sidecar()
    sidecar["outputs"] = [str(path) for path in outputs]
    sidecar.update(sidecar_extra)
    write_json_atomic(args.out.with_suffix(".json"), sidecar)
    summary = result.measures
    line = f"{args.out}: {len(result.frames)} frames at {result.fps:g} fps"
    if summary:
        line += (f"; arc CCC valence {summary['ccc_valence']:+.2f} arousal {summary['ccc_arousal']:+.2f}, end state "
                 f"{summary['end_state_measured']} (target {summary['end_state_target']}), identity "
                 f"{summary['identity_consistency']:.2f}")
    print(line)
    return 0


_FLAGS = (("frames must", "--frames: frames must"), ("fps must", "--fps: fps must"),
          ("emotion:", "--emotion:"), ("the emotion arc", "--emotion: the emotion arc"),
          ("prompt must", "--prompt: prompt must"))


def _flagged(message: str) -> str:
    for prefix, flagged in _FLAGS:
        if message.startswith(prefix):
            return flagged + message[len(prefix):]
    return f"--image: {message}" if "image" in message or "not a file" in message else message
