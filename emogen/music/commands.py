"""`emogen music`: an emotion or arc -> a scored WAV (+ MIDI), with a JSON sidecar saying what made it.

Bad values are refused before anything is generated; files appear only once complete (atomic writes),
and the WAV, MIDI and sidecar are written only after all of them have been computed.
"""
from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from emogen.cli import UsageError
from emogen.errors import EmotionError
from emogen.music.composer import MAX_SECONDS

BACKENDS = ("composer", "musicgen")
SAMPLE_RATES = (8000, 48000)
ARC_WINDOW_S = 4.0


def register(subparsers: argparse._SubParsersAction) -> None:
    # No torch or transformers imported here: `emogen --help` registers every command.
    parser = subparsers.add_parser(
        "music",
        help="compose a soundtrack for an emotion or an emotion arc",
        description="Write a WAV for an emotion ('sadness', 'v=0.6,a=-0.4') or an arc ('joy@0 -> sadness@8'), "
                    "score it with the music scorer and record plan, seed and scores in a JSON sidecar.",
    )
    parser.add_argument("--emotion", required=True, help="an emotion spec or an arc 'joy@0 -> sadness@8'")
    parser.add_argument("--seconds", required=True, type=float, help=f"length in seconds, (0, {MAX_SECONDS:g}]")
    parser.add_argument("--out", required=True, type=Path, help="output .wav file")
    parser.add_argument("--backend", default="composer", choices=BACKENDS,
                        help="composer: the embedded cue-table composer (default); musicgen: a local MusicGen model")
    parser.add_argument("--midi", type=Path, help="composer only: also write the score as a MIDI file")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0): the same seed, the same music")
    parser.add_argument("--soundfont", type=Path, help="composer only: render with FluidSynth and this .sf2 "
                                                       "instead of the built-in synthesiser")
    parser.add_argument("--sample-rate", type=int, default=22050,
                        help="composer sample rate in Hz (default 22050; MusicGen uses its model's own)")
    parser.add_argument("--model", help="musicgen: local model folder (default $EMOGEN_MUSIC_MODEL)")
    parser.set_defaults(run=run_music)


def check_args(args: argparse.Namespace) -> None:
    if not math.isfinite(args.seconds) or not 0 < args.seconds <= MAX_SECONDS:
        raise UsageError(f"--seconds must be in (0, {MAX_SECONDS:g}], got {args.seconds:g}")
    if args.seed < 0:
        raise UsageError(f"--seed must be an integer >= 0, got {args.seed}")
    if args.out.suffix.lower() != ".wav":
        raise UsageError(f"--out must be a .wav file, got {args.out}")
    if args.midi is not None and args.midi.suffix.lower() not in (".mid", ".midi"):
        raise UsageError(f"--midi must be a .mid file, got {args.midi}")
    low, high = SAMPLE_RATES
    if not low <= args.sample_rate <= high:
        raise UsageError(f"--sample-rate must be in [{low}, {high}] Hz, got {args.sample_rate}")
    if args.backend == "musicgen":
        for flag, value in (("--midi", args.midi), ("--soundfont", args.soundfont)):
            if value is not None:
                raise UsageError(f"{flag} works with --backend composer only (MusicGen writes audio, not notes)")
        if not (args.model or os.environ.get("EMOGEN_MUSIC_MODEL")):
            raise UsageError("--backend musicgen needs --model DIR (a local MusicGen folder, e.g. from "
                             "huggingface-cli download facebook/musicgen-small --local-dir DIR) or $EMOGEN_MUSIC_MODEL")
    if args.soundfont is not None:
        from emogen.music.synth import find_soundfont

        find_soundfont(args.soundfont)


def run_music(args: argparse.Namespace) -> int:
    from emogen.emotion import EmotionArc
    from emogen.io import write_json_atomic
    from emogen.music.midi import save_midi
    from emogen.audio import write_wav

    check_args(args)
    arc = EmotionArc.parse(args.emotion)
    start = time.perf_counter()
    audio, sample_rate, details, midi = (_compose if args.backend == "composer" else _musicgen)(args, arc)
    generate_s = time.perf_counter() - start
    scores = score_music(arc, audio, sample_rate, args.seconds)
    sidecar = {
        "emotion": args.emotion, "arc": arc.to_dict(), "backend": args.backend, "seed": args.seed,
        "seconds": args.seconds, "sample_rate": sample_rate, "generate_seconds": round(generate_s, 3),
        "real_time_factor": round(generate_s / args.seconds, 4), **details,
        "scorer": "emogen.music.scorer (fixed literature rules)", "scores": scores,
    }
    write_wav(args.out, audio, sample_rate)
    if midi is not None:
        save_midi(midi, args.midi)
    write_json_atomic(args.out.with_suffix(".json"), sidecar)
    line = f"wrote {args.out} ({args.seconds:g} s, {args.backend}, sidecar {args.out.with_suffix('.json').name})"
    if "overall" in scores:
        overall = scores["overall"]
        line += (f": estimated valence {overall['valence']:+.2f}, arousal {overall['arousal']:+.2f} "
                 f"({overall['quadrant']}), {overall['tempo_bpm']:.0f} bpm, {overall['key']}")
    else:
        line += f"; not scored: {scores['not_scored']}"
    if "arc" in scores:
        line += f"; arc CCC valence {scores['arc']['ccc_valence']:.2f}, arousal {scores['arc']['ccc_arousal']:.2f}"
    print(line)
    return 0


def score_music(arc, audio, sample_rate: int, seconds: float) -> dict:
    """The sidecar's scores: the overall estimate, and for arcs long enough, how well the music follows it."""
    from emogen.music.scorer import arc_agreement, estimate

    try:
        scores = {"overall": estimate(audio, sample_rate).to_dict()}
    except EmotionError as err:  # e.g. a piece under two seconds has no measurable tempo: keep the music
        scores = {"not_scored": str(err)}
    if "overall" in scores and len(arc.keyframes) > 1 and seconds >= ARC_WINDOW_S:
        scores["arc"] = arc_agreement(arc, audio, sample_rate, window_s=ARC_WINDOW_S).to_dict()
    return scores


# Each backend returns (audio, sample rate, details for the sidecar, a MIDI file or None).
def _compose(args: argparse.Namespace, arc):
    from emogen.music.composer import compose
    from emogen.music.midi import build_midi
    from emogen.music.synth import render, render_fluidsynth

    score = compose(arc, args.seconds, seed=args.seed)
    midi = build_midi(score) if args.midi is not None else None
    if args.soundfont is not None:
        audio, synthesiser = render_fluidsynth(score, args.soundfont, args.sample_rate), f"fluidsynth:{args.soundfont}"
    else:
        audio, synthesiser = render(score, args.sample_rate), "builtin"
    return audio, args.sample_rate, {"synthesiser": synthesiser, "plan": score.to_dict()}, midi


def _musicgen(args: argparse.Namespace, arc):
    from emogen.music.musicgen import MusicGenBackend, MusicGenConfig

    backend = MusicGenBackend(MusicGenConfig(model=args.model or os.environ["EMOGEN_MUSIC_MODEL"]))
    audio, segments = backend.generate(arc, args.seconds, seed=args.seed)
    details = {"model": backend.config.model, "segments": [s.to_dict() for s in segments]}
    return audio, backend.sample_rate, details, None
