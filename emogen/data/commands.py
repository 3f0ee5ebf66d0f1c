"""`emogen data emofaces`: write the procedural EmoFaces world to disk as a Hugging Face imagefolder."""
from __future__ import annotations

import argparse

from emogen.data import emofaces


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("data", help="datasets: export the procedural EmoFaces world")
    commands = group.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    commands.required = True

    export = commands.add_parser(
        "emofaces",
        help="render EmoFaces stills or clips into an imagefolder (PNGs + metadata.jsonl)",
        description="Stills: one row per image. Clips (--clips): one row per frame, with clip, frame, time, "
                    "blink and the clip's arc in each row's attributes.",
    )
    export.add_argument("--n", type=int, required=True,
                        help=f"number of stills (or clips), 1..{emofaces.MAX_EXPORT}")
    export.add_argument("--size", type=int, default=64,
                        help=f"image size in pixels, {emofaces.SIZE_RANGE[0]}..{emofaces.SIZE_RANGE[1]} (default 64)")
    export.add_argument("--out", required=True, help="output folder (must be empty or absent, see --overwrite)")
    export.add_argument("--clips", action="store_true", help="write clips (emotion arcs, blinks, head motion)")
    export.add_argument("--split", default="train", choices=tuple(emofaces.SPLITS),
                        help="identities: train or heldout (disjoint; default train)")
    export.add_argument("--seed", type=int, default=0, help="stream seed (default 0)")
    export.add_argument("--fps", type=float, default=emofaces.DEFAULT_FPS,
                        help=f"clip frame rate (default {emofaces.DEFAULT_FPS:g})")
    export.add_argument("--duration", type=float, default=emofaces.DEFAULT_DURATION,
                        help=f"clip length in seconds (default {emofaces.DEFAULT_DURATION:g})")
    export.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    export.set_defaults(run=run_emofaces)


def run_emofaces(args: argparse.Namespace) -> int:
    out = emofaces.export_emofaces(args.n, args.size, args.out, clips=args.clips, split=args.split, seed=args.seed,
                                   fps=args.fps, duration=args.duration, overwrite=args.overwrite)
    kind = "clips" if args.clips else "stills"
    print(f"wrote {args.n} EmoFaces {kind} ({args.split} identities, {args.size}px) to {out}")
    return 0
