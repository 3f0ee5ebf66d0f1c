"""`emogen speak`: text + emotion (or an edited plan) -> x.wav and x.json (plan, timings, scores)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from emogen.cli import UsageError
from emogen.io import atomic_output
from emogen.speech.engines import ENGINES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speak",
        help="expressive speech from text and an emotion",
        description="Speak TEXT with an emotion or an emotion arc; writes OUT.wav and OUT.json "
        "(the prosody plan, word and phoneme timings, emotion scores and plan adherence).",
    )
    parser.add_argument("text", nargs="?", help="what to say (may be left out with --plan: the plan holds its text)")
    parser.add_argument("--emotion", help="an emotion ('joy:0.8', 'v=-0.5,a=0.6') or an arc ('joy@0 -> sadness@3')")
    parser.add_argument("--plan", type=Path, help="render this prosody plan JSON (e.g. an edited 'plan' from OUT.json)")
    parser.add_argument("--engine", default="espeak", help=f"speech engine: {', '.join(ENGINES)} (default espeak)")
    parser.add_argument("--voice", help="engine voice (espeak: a language such as en-us, en-gb, de, optionally +f3)")
    parser.add_argument("--model", type=Path, help="--engine coqui: a local Coqui VITS or XTTS model folder (config.json + "
                        "weights); --voice then names one of its speakers")
    parser.add_argument("--references", type=Path, help="--engine coqui with an XTTS model: a folder of per-emotion "
                        "reference clips (neutral.wav, anger.wav, ... or <emotion>/*.wav)")
    parser.add_argument("--out", type=Path, required=True, help="output .wav; the sidecar .json is written beside it")
    parser.add_argument("--plan-out", type=Path, help="also write the plan alone to this JSON file (to edit it)")
    parser.set_defaults(run=run_speak)


def run_speak(args: argparse.Namespace) -> int:
    from emogen.speech.plan import ProsodyPlan
    from emogen.speech.speak import speak
    from emogen.audio import write_wav

    if args.out.suffix.lower() != ".wav":
        raise UsageError(f"--out must be a .wav file, got {str(args.out)!r}")
    if args.plan is None and args.emotion is None:
        raise UsageError("give --emotion SPEC (or an arc 'joy@0 -> sadness@3') or --plan plan.json")
    if args.plan is None and args.text is None:
        raise UsageError("give the TEXT to speak (or --plan plan.json, which holds its text)")
    plan = ProsodyPlan.load(args.plan) if args.plan is not None else None
    engine, voice = _engine(args), args.voice
    if not isinstance(engine, str):
        voice = None  # a built engine already holds its speaker
    result = speak(args.text, emotion=args.emotion, plan=plan, engine=engine, voice=voice)
    sidecar = args.out.with_suffix(".json")
    # Both files appear together or not at all.
    with atomic_output(args.out) as wav_tmp, atomic_output(sidecar) as json_tmp:
        write_wav(wav_tmp, result.utterance.audio, result.utterance.sample_rate)
        json_tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        if args.plan_out is not None:
            result.plan.save(args.plan_out)
    estimate, report = result.estimate, result.adherence
    print(
        f"wrote {args.out} ({result.utterance.duration:.2f} s, {result.engine} {result.voice}) and {sidecar}: "
        f"scored {estimate.top1} (valence {estimate.valence:+.2f}, arousal {estimate.arousal:+.2f}); "
        f"F0 error {report.mean_f0_error_semitones or 0:.2f} st, rate {report.measured_rate:.2f} "
        f"(planned {report.planned_rate:.2f}); real-time factor {result.real_time_factor:.3f}",
        file=sys.stderr,
    )
    return 0


def _engine(args: argparse.Namespace):
    """The engine name, or for --engine coqui the engine built from --model/--voice/--references."""
    if str(args.engine).strip().lower() != "coqui":
        if args.model is not None or args.references is not None:
            raise UsageError("--model and --references are options of --engine coqui")
        return args.engine
    if args.model is None:
        raise UsageError("--engine coqui needs --model PATH (a local Coqui VITS or XTTS model folder)")
    from emogen.errors import EmotionError

    try:
        from emogen.speech.engines.coqui import CoquiEngine
    except ImportError as err:
        raise EmotionError(f"speech engine 'coqui' is not installed ({err.name or err}); {ENGINES['coqui'][2]}") from None
    return CoquiEngine(args.model, speaker=args.voice, references=args.references)
