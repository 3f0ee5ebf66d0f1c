"""`emogen ui`: start the Streamlit creation UI, bound to localhost unless told otherwise."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emogen.errors import EmotionError
from emogen.ui import MAX_UPLOAD_MB, UI_OUT_ENV

# The packaged app file; ui/app.py in a checkout runs the same main().
APP_FILE = Path(__file__).with_name("streamlit_app.py")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ui", help="start the Streamlit creation UI",
                                   description="Serve the creation UI (image, video, speech, talking head, music, "
                                               "batch gallery, scoring uploads) in the browser.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    parser.add_argument("--out", type=Path, default=Path("out") / "ui", help="where results are saved (default out/ui)")
    parser.set_defaults(run=run_ui)


def streamlit_command(host: str, port: int) -> list[str]:
    if not 1 <= port <= 65535:
        raise EmotionError(f"--port must be from 1 to 65535, got {port}")
    return [sys.executable, "-m", "streamlit", "run", str(APP_FILE), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.maxUploadSize", str(MAX_UPLOAD_MB)]


def run_ui(args: argparse.Namespace) -> int:
    try:
        import streamlit  # noqa: F401
    except ImportError:
        raise EmotionError("the UI needs streamlit: pip install 'emogen[ui]'") from None
    command = streamlit_command(args.host, args.port)
    print(f"emogen ui: serving on http://{args.host}:{args.port} (results in {args.out})", file=sys.stderr)
    sys.stderr.flush()
    # Become the server (no child process): a signal to `emogen ui` then stops Streamlit itself.
    os.execve(command[0], command, {**os.environ, UI_OUT_ENV: str(args.out)})
