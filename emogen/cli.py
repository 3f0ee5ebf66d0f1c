"""The `emogen` command. Each command group lives in its own module with a ``register(subparsers)``."""
from __future__ import annotations

import argparse
import importlib
import sys

from emogen.errors import EmotionError

# Modules that add a command group; imported lazily so `emogen emotion ...` stays fast.
COMMAND_MODULES = {
    "emotion": "emogen.emotion.commands",
    "data": "emogen.data.commands",
    "score": "emogen.score.commands",
    "image": "emogen.image.commands",
    "speak": "emogen.speech.commands",
    "music": "emogen.music.commands",
    "batch": "emogen.batch.commands",
    "video": "emogen.video.commands",
    "talk": "emogen.talking.commands",
    "ui": "emogen.ui.commands",
}


class UsageError(EmotionError):
    """A bad command-line value that is not an emotion (a path, a count): same exit status 2."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emogen", description="Emotion-conditioned generative media.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, module in COMMAND_MODULES.items():
        if only is not None and name != only:
            # Listed in help without importing the module (and its heavy dependencies).
            subparsers.add_parser(name, help=f"see: emogen {name} --help")
            continue
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMAND_MODULES else None)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except EmotionError as err:
        print(f"emogen: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emogen: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
