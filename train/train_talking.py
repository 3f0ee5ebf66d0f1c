"""Train the audio -> mouth model (emogen.talking.audio_mouth.AudioToMouth) on synthesised speech.

    accelerate launch train/train_talking.py [--config train/configs/talking_audio2mouth.yaml] [--key value ...]

Data: sentences (``texts_file``), shuffled words and pseudo-words, spoken by the speech engines
(``engine:voice`` entries: espeak-ng voices and languages, flite voices, piper if installed) with an
emotion each (``emogen.speech.speak``: the ProsodyPlan changes rate, pitch, pauses and voice quality, and
moves the phoneme timings with them). Targets: ``mouth_from_phonemes`` of the engine's phoneme timings at
the model's feature rate. Utterances are synthesised once into ``cache_dir`` (audio + phoneme timings;
targets are recomputed on load, so changing the viseme rules needs no new synthesis); each process
synthesises its share. Training batches are random crops with noise and spectral-tilt augmentation,
drawn from a generator seeded by (seed, step, process), so a resumed run sees the batches an
uninterrupted one would. Validation uses ``heldout_voices``, which training never hears.

Conventions of train/train_scorer.py: YAML config + ``--key value`` overrides (emogen.training), Accelerate,
``checkpoint-N`` folders every ``checkpointing_steps``, ``--resume_from_checkpoint latest``, cosine LR. At the end
the main process evaluates on the held-out voices, saves the model (fp32, plus fp16 when its scores hold),
``metrics.json`` and a model card ``README.md`` into ``output_dir``.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml
from accelerate import Accelerator
from accelerate.utils import set_seed
from diffusers.optimization import get_cosine_schedule_with_warmup

from emogen import training
from emogen.errors import EmotionError
from emogen.score.metrics import ccc, mae
from emogen.speech.engines import Timing, get_engine
from emogen.speech.plan import ProsodyPlan
from emogen.speech.speak import speak
from emogen.talking.audio_mouth import AudioToMouth, log_mel, predict_mouth
from emogen.talking.visemes import MOUTH_BLENDSHAPES, MOUTH_INDICES, lip_opening, mouth_from_phonemes

DATA_VERSION = 1  # bump when what is cached per utterance changes
JAW = MOUTH_BLENDSHAPES.index("jawOpen")


@dataclass
class TalkingTrainConfig:
    output_dir: str = "checkpoints/talking-audio2mouth"
    cache_dir: str = "runs/talking-data"
    seed: int = 0
    # model
    n_mels: int = 40
    channels: int = 96
    kernel_size: int = 5
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16, 1])
    dropout: float = 0.1
    # data
    texts_file: str = "train/configs/talking_texts.yaml"
    train_voices: list[str] = field(default_factory=lambda: ["espeak:en-us", "espeak:de", "flite:slt"])
    heldout_voices: list[str] = field(default_factory=lambda: ["espeak:en-gb+m3", "flite:awb"])
    emotions: list[str] = field(default_factory=lambda: ["neutral", "joy", "sadness", "anger", "fear", "surprise"])
    train_utterances: int = 600
    heldout_utterances: int = 40
    text_modes: dict[str, float] = field(default_factory=lambda: {"sentences": 0.5, "shuffled": 0.3, "pseudo": 0.2})
    # Share of utterances taken straight from the engine (espeak still realises the plan's rate) instead of
    # through speak()'s PSOLA post-processing: the model must not depend on PSOLA's traces.
    raw_fraction: float = 0.35
    crop_s: float = 4.0
    noise_prob: float = 0.5
    snr_db: list[float] = field(default_factory=lambda: [10.0, 40.0])
    tilt_prob: float = 0.5
    loudness_targets: bool = True  # targets open wider on louder sounds (mouth_from_phonemes(..., audio=...))
    torch_threads: int = 0  # 0: leave torch's default
    # optimisation
    train_batch_size: int = 16  # per process
    gradient_accumulation_steps: int = 1
    max_train_steps: int = 1500
    learning_rate: float = 2e-3
    lr_warmup_steps: int = 100
    weight_decay: float = 1e-4
    velocity_loss_weight: float = 1.0  # frame-to-frame changes, so the mouth moves when the targets move
    mixed_precision: str = "no"  # no | fp16 | bf16
    # checkpoints and logs
    checkpointing_steps: int = 250
    checkpoints_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    delete_checkpoints_at_end: bool = False
    logging_steps: int = 25
    validation_steps: int = 0  # > 0: log held-out scores every this many steps (main process)
    report_to: str = "none"  # tensorboard | none


def parse_config(argv: list[str]) -> TalkingTrainConfig:
    config = training.parse_config(TalkingTrainConfig, argv, __doc__.split("\n")[0])
    if config.report_to not in ("tensorboard", "none"):
        raise SystemExit(f"--report_to {config.report_to!r}: accepted tensorboard, none")
    for spec in config.train_voices + config.heldout_voices:
        if ":" not in spec:
            raise SystemExit(f"voice {spec!r}: write engine:voice, e.g. espeak:en-us+f3 or flite:slt")
    return config


# ----- the corpus ------------------------------------------------------------------------------------------

def _language(spec: str) -> str:
    engine, voice = spec.split(":", 1)
    return voice.split("+")[0].split("-")[0].lower() if engine == "espeak" else "en"


def _pseudo_words(words: list[str], rng: np.random.Generator) -> str:
    """Made-up words from the language's own letters, alternating its vowels and consonants."""
    letters = sorted({c for w in words for c in w.lower() if c.isalpha()})
    vowels = [c for c in letters if c in "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüœąęó"] or ["a"]
    consonants = [c for c in letters if c not in vowels] or ["t"]

    def syllable() -> str:  # CV, or CVC three times in ten
        opened = rng.choice(consonants) + rng.choice(vowels)
        return opened + (rng.choice(consonants) if rng.random() < 0.3 else "")

    made = ["".join(syllable() for _ in range(rng.integers(1, 4))) for _ in range(rng.integers(3, 9))]
    return " ".join(made).capitalize() + rng.choice([".", "?", "!"])


def make_text(sentences: list[str], modes: dict[str, float], rng: np.random.Generator) -> str:
    names = list(modes)
    mode = names[rng.choice(len(names), p=np.array([modes[n] for n in names]) / sum(modes.values()))]
    words = [w.strip(".,;:!?¿¡\"") for s in sentences for w in s.split()]
    words = [w for w in words if w]
    if mode == "sentences":
        return " ".join(rng.choice(sentences, size=rng.integers(1, 3), replace=False))
    if mode == "shuffled":
        chosen = list(rng.choice(words, size=rng.integers(4, 13)))
        for index in range(2, len(chosen) - 1, 4):  # commas make pauses
            if rng.random() < 0.5:
                chosen[index] += ","
        return " ".join(chosen).capitalize() + "."
    return _pseudo_words(words, rng)


@functools.lru_cache(maxsize=None)
def voice_available(spec: str) -> bool:
    """Whether this machine has the engine and voice (piper is optional); says so once when not."""
    try:
        _engine(spec)
    except EmotionError as err:
        print(f"voice {spec} left out: {err}", flush=True)
        return False
    return True


def corpus(config: TalkingTrainConfig, split: str) -> list[dict]:
    """The utterances of a split: voice, text and emotion each, fixed by the seed (and the voices installed)."""
    texts = yaml.safe_load(Path(config.texts_file).read_text())
    voices = [v for v in (config.train_voices if split == "train" else config.heldout_voices) if voice_available(v)]
    if not voices:
        raise SystemExit(f"none of the {split} voices is installed")
    count = config.train_utterances if split == "train" else config.heldout_utterances
    rng = np.random.default_rng([config.seed, 0 if split == "train" else 1])
    items = []
    for index in range(count):
        voice = voices[index % len(voices)]
        language = _language(voice)
        if language not in texts:
            raise SystemExit(f"voice {voice!r} speaks {language!r}, which {config.texts_file} has no sentences for")
        emotion = str(rng.choice(config.emotions))
        if emotion != "neutral":
            emotion = f"{emotion}:{rng.uniform(0.4, 1.0):.2f}"
        render = "raw" if rng.random() < config.raw_fraction else "speak"
        items.append({"voice": voice, "text": make_text(texts[language], config.text_modes, rng), "emotion": emotion,
                      "render": render})
    return items


@functools.lru_cache(maxsize=None)
def _engine(spec: str):
    engine, voice = spec.split(":", 1)
    return get_engine(engine, voice)


def _cache_file(config: TalkingTrainConfig, item: dict) -> Path:
    key = hashlib.sha1(json.dumps([DATA_VERSION, item], sort_keys=True).encode()).hexdigest()[:20]
    return Path(config.cache_dir) / f"{key}.npz"


def synthesise(config: TalkingTrainConfig, item: dict) -> Path | None:
    """Speak one item into the cache (atomically); None when the engine cannot speak it (logged, skipped)."""
    path = _cache_file(config, item)
    if path.is_file():
        return path
    engine, voice = item["voice"].split(":", 1)
    try:
        if item["render"] == "raw":
            plan = ProsodyPlan.for_text(item["text"], item["emotion"])
            utterance = _engine(item["voice"]).synthesize(item["text"], plan)
        else:
            utterance = speak(item["text"], item["emotion"], engine=engine, voice=voice).utterance
    except EmotionError as err:
        print(f"skipped {item}: {err}", flush=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + f".{os.getpid()}.partial.npz")
    np.savez(partial, audio=(np.clip(utterance.audio, -1, 1) * 32767).astype(np.int16),
             sample_rate=utterance.sample_rate, labels=np.array([p.label for p in utterance.phonemes], dtype=str),
             times=np.array([[p.start, p.end] for p in utterance.phonemes], np.float64).reshape(-1, 2))
    partial.rename(path)
    return path


def load_utterance(path: Path, feature_rate: float, loudness: bool = True) -> dict:
    """Audio (float32), sample rate, and mouth targets (T, outputs) at ``feature_rate``."""
    with np.load(path) as data:
        audio = data["audio"].astype(np.float32) / 32767.0
        rate = int(data["sample_rate"])
        phonemes = [Timing(str(l), float(s), float(e)) for l, (s, e) in zip(data["labels"], data["times"])]
    n = int(np.ceil(len(audio) / rate * feature_rate))
    # fps is capped at 120 by check_fps; feature_rate (100 Hz) is within it.
    heard = dict(audio=audio, sample_rate=rate) if loudness else {}
    targets = mouth_from_phonemes(phonemes, feature_rate, n, **heard)[:, MOUTH_INDICES]
    return {"audio": audio, "sample_rate": rate, "targets": targets, "path": path.name}


def build_split(config: TalkingTrainConfig, split: str, accelerator: Accelerator, feature_rate: float) -> list[dict]:
    """Every process synthesises its share of the split into the cache, then all load all of it."""
    items = corpus(config, split)
    for index in range(accelerator.process_index, len(items), accelerator.num_processes):
        synthesise(config, items[index])
    accelerator.wait_for_everyone()
    paths = [_cache_file(config, item) for item in items]
    loaded = [dict(load_utterance(p, feature_rate, config.loudness_targets), **item)
              for p, item in zip(paths, items) if p.is_file()]
    if not loaded:
        raise SystemExit(f"no {split} utterance could be synthesised; check the voices {config.train_voices}")
    return loaded


# ----- batches ---------------------------------------------------------------------------------------------

def augment(audio: np.ndarray, config: TalkingTrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Background noise at a random SNR and a random spectral tilt (microphones and rooms differ)."""
    if config.tilt_prob > 0 and rng.random() < config.tilt_prob:
        coefficient = rng.uniform(-0.6, 0.9)  # > 0: pre-emphasis (brighter), < 0: duller
        audio = np.concatenate([audio[:1], audio[1:] - coefficient * audio[:-1]])
    if config.noise_prob > 0 and rng.random() < config.noise_prob:
        rms = float(np.sqrt(np.mean(audio ** 2))) + 1e-9
        snr = rng.uniform(*config.snr_db)
        audio = audio + rng.standard_normal(len(audio)).astype(np.float32) * rms * 10 ** (-snr / 20)
    return audio.astype(np.float32)


def make_batch(data: list[dict], model_config, config: TalkingTrainConfig, rng: np.random.Generator) -> dict:
    """Random crops (with silence beyond the utterance edges) -> features and targets."""
    rate = model_config.feature_rate
    frames = int(round(config.crop_s * rate))
    features, targets = [], []
    for index in rng.integers(0, len(data), size=config.train_batch_size):
        item = data[index]
        total = len(item["targets"])
        start = int(rng.integers(-frames // 4, max(-frames // 4 + 1, total - 3 * frames // 4)))
        sr = item["sample_rate"]
        first, last = int(round(start / rate * sr)), int(round((start + frames) / rate * sr))
        audio = np.zeros(last - first, np.float32)
        lo, hi = max(first, 0), min(last, len(item["audio"]))
        if hi > lo:
            audio[lo - first:hi - first] = item["audio"][lo:hi]
        target = np.zeros((frames, len(MOUTH_BLENDSHAPES)), np.float32)
        t_lo, t_hi = max(start, 0), min(start + frames, total)
        if t_hi > t_lo:
            target[t_lo - start:t_hi - start] = item["targets"][t_lo:t_hi]
        features.append(_features(augment(audio, config, rng), sr, frames, model_config))
        targets.append(target)
    return {"features": torch.from_numpy(np.stack(features)), "targets": torch.from_numpy(np.stack(targets))}


def _features(audio: np.ndarray, sample_rate: int, frames: int, c) -> np.ndarray:
    return log_mel(audio, sample_rate, frames, feature_rate=c.feature_rate, n_mels=c.n_mels, window_s=c.window_s,
                   fmin=c.fmin, fmax=c.fmax, floor_db=c.floor_db)


def loss_fn(predicted: torch.Tensor, target: torch.Tensor, velocity_weight: float) -> tuple[torch.Tensor, dict]:
    value = torch.nn.functional.mse_loss(predicted.float(), target)
    velocity = torch.nn.functional.mse_loss(predicted.float().diff(dim=1), target.diff(dim=1))
    return value + velocity_weight * velocity, {"value": value.detach(), "velocity": velocity.detach()}


# ----- evaluation ------------------------------------------------------------------------------------------

def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _envelope(audio: np.ndarray, sample_rate: int, fps: float, n: int) -> np.ndarray:
    """RMS of the audio over each video frame."""
    edges = np.round(np.arange(n + 1) / fps * sample_rate).astype(int)
    return np.array([np.sqrt(np.mean(audio[a:b] ** 2)) if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])])


def _to_fps(values: np.ndarray, rate: float, fps: float, n: int) -> np.ndarray:
    times, source = (np.arange(n) + 0.5) / fps, (np.arange(len(values)) + 0.5) / rate
    return np.stack([np.interp(times, source, column) for column in values.T], 1)


def _track52(mouth: np.ndarray) -> np.ndarray:
    track = np.zeros((len(mouth), 52), np.float32)
    track[:, MOUTH_INDICES] = mouth
    return track


@torch.no_grad()
def evaluate(model: AudioToMouth, data: list[dict], fps: float = 25.0) -> dict:
    """Held-out scores: per-channel Pearson r and CCC vs the phoneme targets (100 Hz, all utterances pooled),
    lip opening r at ``fps``, and jawOpen vs the audio envelope (the model, the targets, and the envelope itself
    as a trivial predictor of the target jaw)."""
    rate = model.config.feature_rate
    predictions, targets, per_voice = [], [], {}
    video = {"pred_jaw": [], "target_jaw": [], "envelope": [], "pred_open": [], "target_open": []}
    for item in data:
        predicted, _ = predict_mouth(model, item["audio"], item["sample_rate"])
        n = min(len(predicted), len(item["targets"]))
        predictions.append(predicted[:n])
        targets.append(item["targets"][:n])
        per_voice.setdefault(item["voice"], ([], []))
        per_voice[item["voice"]][0].append(predicted[:n, JAW])
        per_voice[item["voice"]][1].append(item["targets"][:n, JAW])
        frames = int(len(item["audio"]) / item["sample_rate"] * fps)
        p, t = _to_fps(predicted[:n], rate, fps, frames), _to_fps(item["targets"][:n], rate, fps, frames)
        video["pred_jaw"].append(p[:, JAW])
        video["target_jaw"].append(t[:, JAW])
        video["envelope"].append(_envelope(item["audio"], item["sample_rate"], fps, frames))
        video["pred_open"].append(lip_opening(_track52(p)))
        video["target_open"].append(lip_opening(_track52(t)))
    predicted, target = np.concatenate(predictions), np.concatenate(targets)
    video = {k: np.concatenate(v) for k, v in video.items()}
    return {
        "heldout_utterances": len(data),
        "heldout_seconds": float(sum(len(d["audio"]) / d["sample_rate"] for d in data)),
        "pearson": {name: _pearson(predicted[:, i], target[:, i]) for i, name in enumerate(MOUTH_BLENDSHAPES)},
        "ccc": {name: ccc(target[:, i], predicted[:, i]) for i, name in enumerate(MOUTH_BLENDSHAPES)},
        "mae": mae(target, predicted),
        "mae_constant_baseline": mae(target, np.broadcast_to(target.mean(0), target.shape)),
        "jaw_pearson_per_voice": {v: _pearson(np.concatenate(p), np.concatenate(t)) for v, (p, t) in per_voice.items()},
        "fps": fps,
        "lip_opening_pearson": _pearson(video["pred_open"], video["target_open"]),
        "jaw_vs_envelope_pearson": _pearson(video["pred_jaw"], video["envelope"]),
        "jaw_pearson_at_fps": _pearson(video["pred_jaw"], video["target_jaw"]),
        # The envelope as a predictor of the target jaw (also: how loudness-like the targets are).
        "envelope_baseline_jaw_pearson": _pearson(video["envelope"], video["target_jaw"]),
    }


def summary(metrics: dict) -> str:
    r = metrics["pearson"]
    return (f"jawOpen r {r['jawOpen']:.3f} pucker r {r['mouthPucker']:.3f} close r {r['mouthClose']:.3f} "
            f"MAE {metrics['mae']:.4f} (constant {metrics['mae_constant_baseline']:.4f}) "
            f"lip-open r {metrics['lip_opening_pearson']:.3f} envelope-baseline r {metrics['envelope_baseline_jaw_pearson']:.3f}")


# ----- model card ------------------------------------------------------------------------------------------

def model_card(config: TalkingTrainConfig, metrics: dict, command: str) -> str:
    rows = "\n".join(f"| {name} | {metrics['pearson'][name]:.3f} | {metrics['ccc'][name]:.3f} |" for name in MOUTH_BLENDSHAPES)
    voices = "\n".join(f"| {voice} | {r:.3f} |" for voice, r in metrics["jaw_pearson_per_voice"].items())
    voice_counts = ", ".join(f"{voice} {count}" for voice, count in metrics["train_voice_counts"].items())
    left_out = sorted(set(config.train_voices) - set(metrics["train_voice_counts"]))
    if left_out:
        voice_counts += f" (not installed, left out: {', '.join(left_out)})"
    fp16 = metrics.get("fp16")
    fp16_text = (f"fp16 weights (`diffusion_pytorch_model.fp16.safetensors`, `variant=\"fp16\"`): jawOpen r "
                 f"{fp16['jawOpen_pearson']:.4f}, MAE {fp16['mae']:.4f} on the same held-out set "
                 f"({'written' if fp16['written'] else 'not written: the scores dropped'})." if fp16 else "")
    return f"""---
library_name: diffusers
tags: [emogen, talking-head, lip-sync, audio-to-blendshapes, synthetic-data]
---
# Audio -> mouth blendshapes (talking-audio2mouth)

`emogen.talking.audio_mouth.AudioToMouth` ({metrics['parameters']:,} parameters): dilated 1-D convolutions over
{config.n_mels}-band log-mel frames at 100 Hz (about +-0.6 s of context) -> the {len(MOUTH_BLENDSHAPES)} ARKit mouth
blendshapes of `emogen.talking.visemes.MOUTH_BLENDSHAPES`. Used by `mouth_from_audio` for any speech WAV
(speech that emogen synthesised itself uses the phoneme timings directly).

## Training

Command (from the repository root; {metrics['num_processes']} process(es), {metrics['device']}):

    {command}

Data: {metrics['train_utterances']} utterances ({metrics['train_seconds_audio'] / 60:.1f} min of audio) synthesised by
`emogen.speech.speak`, utterances per voice: {voice_counts}; emotions {", ".join(config.emotions)}
(intensity U(0.4, 1); the ProsodyPlan sets rate, pitch, pauses and voice quality); {config.raw_fraction:.0%} of them
straight from the engine without speak()'s PSOLA post-processing (espeak still applies the plan's rate). Texts: `{config.texts_file}` sentences,
their words shuffled, and pseudo-words ({config.text_modes}). Targets: `mouth_from_phonemes` (OVR visemes + dominance
coarticulation{", jaw opening scaled by each sound's loudness" if config.loudness_targets else ""}) of each engine's phoneme timings. Batches: {config.train_batch_size} random {config.crop_s:g} s crops,
white noise at SNR U({config.snr_db[0]:g}, {config.snr_db[1]:g}) dB with probability {config.noise_prob}, spectral tilt
with probability {config.tilt_prob}. Loss: MSE + {config.velocity_loss_weight} x MSE of frame-to-frame changes. AdamW, learning rate
{config.learning_rate}, {config.max_train_steps} steps, cosine schedule. {metrics['train_seconds']:.0f} s of training on
{metrics['cpu_count']} CPU cores (torch {metrics['torch_version']}).

## Evaluation (held-out voices: {", ".join(config.heldout_voices)})

{metrics['heldout_utterances']} utterances ({metrics['heldout_seconds']:.0f} s) in voices training never heard, scored against the
phoneme-derived targets (100 Hz, all utterances pooled):

| channel | Pearson r | CCC |
|---|---|---|
{rows}

- Mean absolute error over the mouth channels: **{metrics['mae']:.4f}** (predicting each channel's mean: {metrics['mae_constant_baseline']:.4f})
- jawOpen r per held-out voice:

| voice | jawOpen r |
|---|---|
{voices}

At {metrics['fps']:g} fps (frames pooled over the held-out utterances):
- lip opening (`visemes.lip_opening`), predicted vs target: r = **{metrics['lip_opening_pearson']:.3f}**
- trivial baseline "the jaw follows loudness": the audio RMS envelope per frame as a predictor of the target jawOpen,
  r = {metrics['envelope_baseline_jaw_pearson']:.3f}; the model's jawOpen vs the target: r = **{metrics['jaw_pearson_at_fps']:.3f}**
- predicted jawOpen vs the audio RMS envelope: r = {metrics['jaw_vs_envelope_pearson']:.3f}, about what the targets themselves
  give ({metrics['envelope_baseline_jaw_pearson']:.3f}): speech is not loudness (nasals are loud with closed lips, stop
  closures are silent inside open syllables)

{fp16_text}

## Limits

Trained on synthetic voices only (formant, diphone/HTS), so on recorded human speech expect lower accuracy. The
targets are rule-based visemes, not captured faces: the model learns to reproduce `mouth_from_phonemes` from sound.
"""


# ----- the loop --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    config = parse_config(argv)
    started = time.time()
    output_dir = Path(config.output_dir)
    accelerator = training.make_accelerator(config, output_dir)
    set_seed(config.seed)
    model = AudioToMouth(n_mels=config.n_mels, channels=config.channels, kernel_size=config.kernel_size,
                         dilations=tuple(config.dilations), dropout=config.dropout)
    train_data = build_split(config, "train", accelerator, model.config.feature_rate)
    heldout_data = build_split(config, "heldout", accelerator, model.config.feature_rate)
    accelerator.print(f"data: {len(train_data)} train / {len(heldout_data)} held-out utterances "
                      f"({time.time() - started:.0f}s incl. synthesis)")

    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, config.lr_warmup_steps * accelerator.num_processes,
                                                config.max_train_steps * accelerator.num_processes)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    _, global_step = training.resume(accelerator, config.resume_from_checkpoint, output_dir)
    if accelerator.is_main_process and config.report_to != "none":
        accelerator.init_trackers("train_talking", config={k: str(v) for k, v in dataclasses.asdict(config).items()})

    model_config = accelerator.unwrap_model(model).config
    accelerator.print(f"AudioToMouth: {sum(p.numel() for p in model.parameters()):,} parameters; "
                      f"{accelerator.num_processes} process(es) on {accelerator.device}; steps {global_step} -> {config.max_train_steps}")
    model.train()
    train_started, running, micro = time.time(), {"loss": 0.0, "value": 0.0, "velocity": 0.0, "n": 0}, 0
    while global_step < config.max_train_steps:
        rng = np.random.default_rng([config.seed, global_step, micro, accelerator.process_index])
        batch = {k: v.to(accelerator.device) for k, v in make_batch(train_data, model_config, config, rng).items()}
        with accelerator.accumulate(model):
            loss, parts = loss_fn(model(batch["features"]), batch["targets"], config.velocity_loss_weight)
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        running["loss"] += loss.item()
        running["value"] += parts["value"].item()
        running["velocity"] += parts["velocity"].item()
        running["n"] += 1
        micro = (micro + 1) % config.gradient_accumulation_steps
        if not accelerator.sync_gradients:
            continue
        global_step += 1
        if global_step % config.logging_steps == 0 or global_step == config.max_train_steps:
            n = running.pop("n")
            logs = {f"train/{k}": v / n for k, v in running.items()}
            accelerator.log({**logs, "train/lr": scheduler.get_last_lr()[0]}, step=global_step)
            accelerator.print(f"step {global_step}/{config.max_train_steps} "
                              + " ".join(f"{k[6:]} {v:.5f}" for k, v in logs.items())
                              + f" lr {scheduler.get_last_lr()[0]:.2e} {time.time() - train_started:.0f}s")
            running = {"loss": 0.0, "value": 0.0, "velocity": 0.0, "n": 0}
        if config.validation_steps > 0 and global_step % config.validation_steps == 0 and accelerator.is_main_process:
            metrics = evaluate(accelerator.unwrap_model(model), heldout_data)
            accelerator.log({"validation/jaw_pearson": metrics["pearson"]["jawOpen"], "validation/mae": metrics["mae"]},
                            step=global_step)
            accelerator.print(f"validation step {global_step}: {summary(metrics)}")
            model.train()
        if global_step % config.checkpointing_steps == 0:
            training.save_checkpoint(accelerator, output_dir, global_step, config.checkpoints_total_limit)
    train_seconds = time.time() - train_started
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        final = accelerator.unwrap_model(model).to(torch.float32).eval()
        metrics = evaluate(final, heldout_data)
        metrics.update({
            "parameters": sum(p.numel() for p in final.parameters()), "num_processes": accelerator.num_processes,
            "device": str(accelerator.device), "cpu_count": os.cpu_count(), "torch_version": torch.__version__,
            "train_seconds": train_seconds, "train_utterances": len(train_data),
            "train_voice_counts": _counts(d["voice"] for d in train_data),
            "heldout_voice_counts": _counts(d["voice"] for d in heldout_data),
            "train_seconds_audio": float(sum(len(d["audio"]) / d["sample_rate"] for d in train_data)),
            "config": dataclasses.asdict(config),
        })
        _save(final, config, metrics, heldout_data, output_dir, started, argv)
        accelerator.print(summary(metrics))
    accelerator.wait_for_everyone()
    accelerator.end_training()


def _counts(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _save(model: AudioToMouth, config: TalkingTrainConfig, metrics: dict, heldout: list[dict], output_dir: Path,
          started: float, argv: list[str]) -> None:
    """save_pretrained (fp32, and fp16 when its scores hold), metrics.json and the model card."""
    model.save_pretrained(output_dir)
    AudioToMouth.from_pretrained(output_dir, torch_dtype=torch.float16).save_pretrained(output_dir, variant="fp16")
    half = evaluate(AudioToMouth.from_pretrained(output_dir, variant="fp16", torch_dtype=torch.float32).eval(), heldout)
    holds = half["pearson"]["jawOpen"] >= metrics["pearson"]["jawOpen"] - 0.002 and half["mae"] <= metrics["mae"] + 0.002
    if not holds:
        (output_dir / "diffusion_pytorch_model.fp16.safetensors").unlink()
    metrics["fp16"] = {"jawOpen_pearson": half["pearson"]["jawOpen"], "mae": half["mae"], "written": holds}
    metrics["total_seconds"] = time.time() - started
    if config.delete_checkpoints_at_end:
        training.delete_checkpoints(output_dir)
    command = training.launch_command("train/train_talking.py", argv, metrics["num_processes"])
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (output_dir / "README.md").write_text(model_card(config, metrics, command))


if __name__ == "__main__":
    main()
