"""`emogen talk`: a portrait speaks text or a WAV with an emotion (or arc) -> talk.mp4 + talk.json (+ tracks)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emogen.cli import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    # Nothing heavy imported here: `emogen --help` registers every command.
    parser = subparsers.add_parser(
        "talk",
        help="a talking head: portrait + speech + emotion -> mp4",
        description="Animate a portrait (the EmoFaces avatar or a photo) speaking TEXT (synthesised with the "
                    "emotion's prosody) or a WAV, with an emotion or an emotion arc. Writes OUT.mp4 (H.264 + AAC) "
                    "and OUT.json (inputs, per-frame targets, lip-sync / expression / identity scores, timings).",
    )
    parser.add_argument("--portrait", default="avatar",
                        help="'avatar', 'avatar:SEED' (an EmoFaces identity) or an image file (default avatar)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="what to say (spoken by emogen's expressive speech)")
    source.add_argument("--audio", type=Path, help="a 16-bit PCM WAV to lip-sync (the learned audio-to-mouth model)")
    parser.add_argument("--emotion", default="neutral",
                        help="an emotion ('joy:0.8', 'v=-0.5,a=0.6') or an arc ('joy@0 -> sadness@3'); an arc longer "
                             "than the speech is cut at its end (default neutral)")
    parser.add_argument("--out", type=Path, required=True, help="output .mp4; the sidecar .json is written beside it")
    parser.add_argument("--blendshapes", type=Path,
                        help="also write the motion tracks: .csv (Live Link Face layout, for Blender / Unreal / Maya) "
                             "or .json")
    parser.add_argument("--fps", type=float, default=25.0, help="frames per second (default 25)")
    parser.add_argument("--size", type=int, default=256, help="frame size in pixels, 256 or 512 (64..512 accepted)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for blinks, gaze and head motion, and the avatar identity for plain 'avatar' (default 0)")
    parser.add_argument("--engine", default="espeak", help="speech engine for --text (espeak, flite, piper)")
    parser.add_argument("--voice", help="engine voice for --text (espeak: en-us, en-gb, de, ...)")
    parser.add_argument("--soundtrack", action="store_true",
                        help="mix music that follows the same emotion under the speech (ducked while speaking)")
    parser.add_argument("--no-score", action="store_true",
                        help="skip the measurements on the output frames (faster; the sidecar then has no scores)")
    parser.set_defaults(run=run_talk)


def run_talk(args: argparse.Namespace) -> int:
    from emogen.talking.pipeline import talk

    if args.out.suffix.lower() != ".mp4":
        raise UsageError(f"--out must be an .mp4 file, got {str(args.out)!r}")
    if args.text is not None and not args.text.strip():
        raise UsageError("--text is empty; give the words to speak")
    if args.audio is not None and (args.voice is not None or args.engine != "espeak"):
        raise UsageError("--engine and --voice choose how --text is spoken; a recording given with --audio keeps its voice")
    result = talk(args.portrait, text=args.text, audio=args.audio, emotion=args.emotion, out=args.out,
                  blendshapes=args.blendshapes, fps=args.fps, size=args.size, seed=args.seed, engine=args.engine,
                  voice=args.voice, score=not args.no_score, soundtrack=args.soundtrack)
    for warning in result.warnings:
        print(f"emogen: warning: {warning}", file=sys.stderr)
    line = (f"wrote {args.out} ({result.duration:.2f} s, {result.tracks.n_frames} frames at {result.tracks.fps:g} fps, "
            f"{result.size} px, {result.portrait}) and {result.sidecar}")
    if result.blendshapes_file is not None:
        line += f" and {result.blendshapes_file}"
    scores = result.scores
    if "correlation" in scores.get("lip_sync", {}):
        sync = scores["lip_sync"]
        line += f"; lip sync r={sync['correlation']:.2f} at lag {sync['lag_frames']:+d}"
    if "accuracy" in scores.get("expression", {}):
        expression = scores["expression"]
        line += f"; expression accuracy {expression['accuracy']:.0%} ({scores['expression_scorer']}"
        parts = [f"{label} {expression[key]['accuracy']:.0%}"
                 for key, label in (("while_speaking", "speaking"), ("in_pauses", "pauses"))
                 if expression.get(key, {}).get("accuracy") is not None]
        line += f"; {', '.join(parts)})" if parts else ")"
    line += f"; real-time factor {result.real_time_factor:.2f}"
    print(line, file=sys.stderr)
    return 0
