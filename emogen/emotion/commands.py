"""`emogen emotion describe|arc`: read an emotion spec and show what emogen makes of it."""
from __future__ import annotations

import argparse
import json

from emogen.emotion.arc import EmotionArc
from emogen.emotion.emotion import Emotion


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("emotion", help="parse and convert emotion specs and arcs")
    commands = group.add_subparsers(dest="emotion_command", metavar="SUBCOMMAND")
    commands.required = True

    describe = commands.add_parser("describe", help="show the VAD point and category mixture of a spec")
    describe.add_argument("spec", help="e.g. 'joy', 'joy:0.8', '0.6 joy + 0.4 surprise', 'v=0.7,a=0.4'")
    describe.add_argument("--set", dest="category_set", help="category set: ekman7, mead8, mikels8")
    describe.add_argument("--json", action="store_true", help="print JSON")
    describe.set_defaults(run=run_describe)

    arc = commands.add_parser("arc", help="sample an emotion arc at a frame rate")
    arc.add_argument("spec", help="e.g. 'joy@0 -> sadness@3.5'")
    arc.add_argument("--fps", type=float, default=5.0, help="frames per second (default 5)")
    arc.add_argument("--duration", type=float, help="seconds to sample (default: the last keyframe's time)")
    arc.add_argument("--set", dest="category_set", help="category set: ekman7, mead8, mikels8")
    arc.add_argument("--json", action="store_true", help="print JSON")
    arc.set_defaults(run=run_arc)


def run_describe(args: argparse.Namespace) -> int:
    emotion = Emotion.parse(args.spec, args.category_set)
    if args.json:
        print(json.dumps(emotion.to_dict(), indent=2))
    else:
        print(_describe_line(emotion))
    return 0


def run_arc(args: argparse.Namespace) -> int:
    arc = EmotionArc.parse(args.spec, args.category_set)
    times = arc.frame_times(args.fps, args.duration)
    emotions = [arc.at(float(t)) for t in times]
    if args.json:
        frames = [{"time": round(float(t), 6), **e.to_dict()} for t, e in zip(times, emotions)]
        print(json.dumps({"fps": args.fps, "frames": frames}, indent=2))
    else:
        for t, emotion in zip(times, emotions):
            print(f"{t:8.3f}s  {_describe_line(emotion)}")
    return 0


def _describe_line(emotion: Emotion) -> str:
    mixture = ", ".join(f"{name} {p:.2f}" for name, p in sorted(emotion.categories.items(), key=lambda x: -x[1]) if p >= 0.01)
    return (
        f"{emotion.top:<12} valence {emotion.valence:+.2f}  arousal {emotion.arousal:+.2f}  "
        f"dominance {emotion.dominance:+.2f}  intensity {emotion.intensity:.2f}  [{emotion.category_set}: {mixture}]"
    )
