"""Fine-tune (or train) a Coqui VITS with emotion conditioning on an ESD / RAVDESS / CREMA-D corpus.

    accelerate launch [--config_file train/configs/accelerate/X.yaml] train/train_tts.py \\
        --config train/configs/tts_vits_tiny.yaml --data_root PATH [--key value ...]

Any field of ``TTSTrainConfig`` can be set in the YAML config and overridden on the command line.

The model: ``base_model`` (a local Coqui VITS folder, e.g. a released single-speaker model: fine-tuned,
switched to d-vector conditioning), or when that is empty the tiny VITS built in code
(emogen.speech.coqui_vits.tiny_vits_config). Conditioning: emogen.speech.emotion_conditioning, a
speaker embedding plus the EmotionEncoder's pooled vector, trained jointly with VITS and fed as its
d-vector (VITS L2-normalises it), so every label of the corpus (category and intensity) is a point the
model learns to speak from.

The loop is Coqui VITS's own GAN step (``Vits.train_step``: discriminator step on the detached
generator output, then generator step with mel L1, KL, duration, adversarial and feature-matching
losses, Coqui's loss modules and weights) with the discriminator split off the generator, so that
Accelerate prepares each network on its own (DDP wraps each; the generator includes the conditioning).
Checkpoints (``checkpoint-N``, rotated; ``--resume_from_checkpoint latest``) hold both networks, both
optimizers and RNG states; batches are a function of the step, so resuming continues the same sequence.
At the end the model folder (config.json, model.pth, emotion_conditioning/, emogen_tts.json) is written
to ``output_dir``, and ``metrics.json`` records speed, losses and what the conditioning does to the
measured prosody of one held-out sentence (emogen.speech.scorer against the neutral take).
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import time
import wave
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import set_seed
from scipy.signal import resample_poly
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python train/train_tts.py` from a checkout

from emogen import training  # noqa: E402
from emogen.audio import read_wav  # noqa: E402
from emogen.emotion import Emotion  # noqa: E402
from emogen.emotion.encoder import emotion_features  # noqa: E402
from emogen.errors import EmotionError  # noqa: E402
from emogen.io import write_json_atomic  # noqa: E402
from emogen.speech import coqui_vits  # noqa: E402
from emogen.speech.coqui_runtime import torchaudio_mode  # noqa: E402
from emogen.speech.datasets import LAYOUTS, SpeechClip, read_corpus  # noqa: E402
from emogen.speech.emotion_conditioning import EmotionConditioning  # noqa: E402

from TTS.tts.layers.losses import VitsDiscriminatorLoss, VitsGeneratorLoss  # noqa: E402
from TTS.tts.utils.helpers import segment  # noqa: E402
from TTS.utils.audio.torch_transforms import wav_to_mel  # noqa: E402

logger = logging.getLogger("train_tts")
EVAL_TEXT = "Nobody told me the meeting had moved to Friday."


@dataclass
class TTSTrainConfig:
    output_dir: str = "checkpoints/tts-vits-emotion"
    seed: int = 0
    # model
    base_model: str | None = None  # a local Coqui VITS folder to fine-tune; None: the tiny VITS built in code
    tiny_width: int = 32  # tiny VITS: channels of its networks
    tiny_sample_rate: int = 16000  # tiny VITS: its sample rate (a base model keeps its own)
    discriminator: str = "tiny"  # tiny VITS: tiny | vits (Coqui's full-width one); a base model keeps its own
    speaker_dim: int = 32
    emotion_dim: int = 32
    # data
    layout: str = "esd"  # esd | ravdess | cremad
    data_root: str | None = None
    max_clip_seconds: float = 12.0  # longer clips are left out (and counted)
    dataloader_num_workers: int = 0
    torch_threads: int = 0  # 0: torch's default
    # optimisation (Coqui's VITS defaults)
    train_batch_size: int = 16  # per process
    max_train_steps: int = 20000
    lr_gen: float = 2e-4
    lr_disc: float = 2e-4
    lr_conditioning: float = 1e-3  # the new conditioning network learns faster than the pretrained VITS
    adam_betas: list[float] = field(default_factory=lambda: [0.8, 0.99])
    weight_decay: float = 0.01
    max_grad_norm: float = 1000.0
    mixed_precision: str = "no"  # no | fp16 | bf16
    # checkpoints and logs
    checkpointing_steps: int = 1000
    checkpoints_total_limit: int = 2
    resume_from_checkpoint: str | None = None
    logging_steps: int = 50
    report_to: str = "tensorboard"  # tensorboard | none
    # the measurement at the end
    eval_text: str = EVAL_TEXT

    def check(self) -> None:
        if self.layout not in LAYOUTS:
            raise EmotionError(f"layout {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        if not self.data_root:
            raise EmotionError("data_root is required: the folder the corpus was unpacked to")
        if self.discriminator not in coqui_vits.DISCRIMINATORS:
            raise EmotionError(f"discriminator {self.discriminator!r} is not one of {', '.join(coqui_vits.DISCRIMINATORS)}")
        for name in ("train_batch_size", "max_train_steps", "checkpointing_steps", "logging_steps"):
            if getattr(self, name) < 1:
                raise EmotionError(f"{name} must be >= 1, got {getattr(self, name)}")


# ----- data -----------------------------------------------------------------------------------------------

def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path), "rb") as handle:
            return handle.getnframes() / handle.getframerate()
    except (wave.Error, EOFError, OSError) as err:
        raise EmotionError(f"{path} is not a readable WAV file ({err})") from None


class ClipDataset(Dataset):
    """Corpus clips as VITS inputs: tokens, waveform at the model's rate, speaker row, emotion features."""

    def __init__(self, clips: list[SpeechClip], tokenizer, sample_rate: int, speakers: tuple[str, ...]):
        self.clips, self.tokenizer, self.sample_rate = clips, tokenizer, sample_rate
        self.speaker_rows = {name: index for index, name in enumerate(speakers)}

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict:
        clip = self.clips[index]
        audio, rate = read_wav(clip.path)
        if rate != self.sample_rate:
            ratio = Fraction(self.sample_rate, rate).limit_denominator(1000)
            audio = resample_poly(audio, ratio.numerator, ratio.denominator)
        tokens = self.tokenizer.text_to_ids(clip.text)
        if not tokens:
            raise EmotionError(f"{clip.path}: its text {clip.text[:40]!r} has no symbol this model knows")
        return {"tokens": torch.tensor(tokens, dtype=torch.long), "waveform": torch.from_numpy(np.asarray(audio, np.float32)),
                "speaker": self.speaker_rows[clip.speaker], "features": emotion_features([Emotion.parse(clip.emotion)])[0]}


def collate(items: list[dict], pad_id: int) -> dict:
    token_lens = torch.tensor([len(i["tokens"]) for i in items])
    wav_lens = torch.tensor([len(i["waveform"]) for i in items])
    tokens = torch.full((len(items), int(token_lens.max())), pad_id, dtype=torch.long)
    waveform = torch.zeros(len(items), 1, int(wav_lens.max()))
    for row, item in enumerate(items):
        tokens[row, : len(item["tokens"])] = item["tokens"]
        waveform[row, 0, : len(item["waveform"])] = item["waveform"]
    return {"tokens": tokens, "token_lens": token_lens, "waveform": waveform,
            "waveform_rel_lens": wav_lens / wav_lens.max(),
            "speaker_ids": torch.tensor([i["speaker"] for i in items]),
            "features": torch.stack([i["features"] for i in items])}


class StepBatches(Sampler):
    """The index batch of every step from ``start`` on: a function of (seed, step, process), so a resumed
    run draws what the uninterrupted one would have."""

    def __init__(self, size: int, batch: int, seed: int, start: int, stop: int, process: int):
        self.size, self.batch, self.seed, self.start, self.stop, self.process = size, batch, seed, start, stop, process

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self):
        for step in range(self.start, self.stop):
            rng = np.random.default_rng([self.seed, step, self.process])
            yield rng.choice(self.size, self.batch, replace=self.size < self.batch).tolist()


def load_clips(config: TTSTrainConfig) -> tuple[list[SpeechClip], int]:
    clips = read_corpus(config.layout, config.data_root)
    kept = [c for c in clips if wav_seconds(c.path) <= config.max_clip_seconds]
    if not kept:
        raise EmotionError(f"every clip of {config.data_root} is longer than max_clip_seconds={config.max_clip_seconds}")
    return kept, len(clips) - len(kept)


# ----- model ----------------------------------------------------------------------------------------------

class Generator(nn.Module):
    """VITS without its discriminator, plus the conditioning: one module for Accelerate to prepare."""

    def __init__(self, vits: nn.Module, conditioning: EmotionConditioning):
        super().__init__()
        self.vits, self.conditioning = vits, conditioning

    def forward(self, batch: dict) -> dict:
        d_vectors = self.conditioning(batch["speaker_ids"], batch["features"])
        return self.vits(batch["tokens"], batch["token_lens"], batch["spec"], batch["spec_lens"], batch["waveform"],
                         aux_input={"d_vectors": d_vectors, "speaker_ids": None, "language_ids": None})


def build_models(config: TTSTrainConfig, speakers: tuple[str, ...]):
    """(vits without discriminator, discriminator, conditioning, coqui config, discriminator kind)."""
    conditioning = EmotionConditioning(speakers=speakers, speaker_dim=config.speaker_dim, emotion_dim=config.emotion_dim)
    if config.base_model:
        loaded = coqui_vits.load_vits(config.base_model, with_discriminator=True)
        coqui_config = loaded.config
        kind = loaded.training.get("discriminator", "vits")
        if loaded.conditioning is not None and tuple(loaded.conditioning.speakers) == speakers \
                and loaded.conditioning.dim == conditioning.dim:
            conditioning = loaded.conditioning  # going on from an emogen-trained folder
            vits = loaded.model
        else:
            # A new conditioning (another size, other speakers, or none before): rebuild VITS for that
            # d-vector size and keep every weight whose shape still fits.
            coqui_config = coqui_vits.with_d_vectors(coqui_config, conditioning.dim)
            vits = coqui_vits.build_vits(coqui_config, kind)
            old = loaded.model.state_dict()
            fits = {k: v for k, v in old.items() if k in vits.state_dict() and vits.state_dict()[k].shape == v.shape}
            vits.load_state_dict(fits, strict=False)
            logger.info("base model: kept %d of %d tensors (the rest are the new conditioning layers)", len(fits), len(old))
    else:
        coqui_config = coqui_vits.tiny_vits_config(config.tiny_sample_rate, conditioning.dim, config.tiny_width)
        kind = config.discriminator
        vits = coqui_vits.build_vits(coqui_config, kind)
    discriminator = vits.disc
    del vits.disc  # trained as its own module (see the module doc)
    return vits, discriminator, conditioning, coqui_config, kind


def losses(generator: nn.Module, discriminator: nn.Module, batch: dict, vits, coqui_config, criteria, accelerator,
           optimizers, max_grad_norm: float) -> dict:
    """One VITS GAN step (Coqui's Vits.train_step, split in two networks); returns the losses."""
    disc_criterion, gen_criterion = criteria
    optimizer_d, optimizer_g = optimizers
    audio = coqui_config.audio
    outputs = generator(batch)
    # 1. discriminator on real vs detached generated segments
    scores_fake, _, scores_real, _ = discriminator(outputs["model_outputs"].detach(), outputs["waveform_seg"])
    loss_d = disc_criterion(scores_real, scores_fake)["loss"]
    optimizer_d.zero_grad(set_to_none=True)
    accelerator.backward(loss_d)
    accelerator.clip_grad_norm_(discriminator.parameters(), max_grad_norm)
    optimizer_d.step()
    # 2. generator: mel L1 on the decoded segment, KL, duration, adversarial, feature matching
    mel_slice = segment(batch["mel"].float(), outputs["slice_ids"], vits.spec_segment_size, pad_short=True)
    mel_hat = wav_to_mel(y=outputs["model_outputs"].float(), n_fft=audio.fft_size, sample_rate=audio.sample_rate,
                         num_mels=audio.num_mels, hop_length=audio.hop_length, win_length=audio.win_length,
                         fmin=audio.mel_fmin, fmax=audio.mel_fmax, center=False)
    scores_fake, feats_fake, _, feats_real = discriminator(outputs["model_outputs"], outputs["waveform_seg"])
    terms = gen_criterion(mel_slice_hat=mel_slice, mel_slice=mel_hat, z_p=outputs["z_p"].float(),
                          logs_q=outputs["logs_q"].float(), m_p=outputs["m_p"].float(), logs_p=outputs["logs_p"].float(),
                          z_len=batch["spec_lens"], scores_disc_fake=scores_fake, feats_disc_fake=feats_fake,
                          feats_disc_real=feats_real, loss_duration=outputs["loss_duration"])
    optimizer_g.zero_grad(set_to_none=True)
    accelerator.backward(terms["loss"])
    accelerator.clip_grad_norm_(generator.parameters(), max_grad_norm)
    optimizer_g.step()
    result = {k: float(v.detach()) for k, v in terms.items() if torch.is_tensor(v)}
    result["loss_disc"] = float(loss_d.detach())
    return result


# ----- the measurements -----------------------------------------------------------------------------------

def fixed_batch_mel_loss(generator: nn.Module, vits, batch: dict, coqui_config, seed: int) -> float:
    """Mel L1 (Coqui's weight) on one fixed batch, dropout off and the decoded segment's position seeded:
    comparable before and after training, unlike the per-step losses of changing batches."""
    audio = coqui_config.audio
    generator.eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        outputs = generator(batch)
        mel_slice = segment(batch["mel"].float(), outputs["slice_ids"], vits.spec_segment_size, pad_short=True)
        mel_hat = wav_to_mel(y=outputs["model_outputs"].float(), n_fft=audio.fft_size, sample_rate=audio.sample_rate,
                             num_mels=audio.num_mels, hop_length=audio.hop_length, win_length=audio.win_length,
                             fmin=audio.mel_fmin, fmax=audio.mel_fmax, center=False)
        loss = torch.nn.functional.l1_loss(mel_slice, mel_hat) * coqui_config.mel_loss_alpha
    generator.train()
    return round(float(loss), 4)


def measure_conditioning(model_dir: Path, speaker: str, emotions: list[str], text: str) -> dict:
    """What the learned conditioning alone does: each emotion's take (no plan, no post-processing) scored
    against the neutral take of the same sentence by emogen's speech scorer."""
    from emogen.score.metrics import spearman
    from emogen.speech.engines.coqui import CoquiEngine
    from emogen.speech.features import Analysis
    from emogen.speech.scorer import score_speech

    engine = CoquiEngine(model_dir, speaker=speaker)
    neutral = engine.emotion_take(text, "neutral")
    reference = Analysis.of(neutral)
    rows = {}
    for spec in emotions:
        take = engine.emotion_take(text, spec)
        estimate, cues = score_speech(Analysis.of(take), reference)
        difference = take.audio[: len(neutral.audio)] - neutral.audio[: len(take.audio)]
        rows[spec] = {"target_arousal": round(Emotion.parse(spec).arousal, 4), "measured_arousal": round(estimate.arousal, 4),
                      "duration_s": round(take.duration, 3), "cues": cues.to_dict(),
                      "waveform_change_db": round(float(10 * np.log10(np.mean(difference ** 2) / np.mean(neutral.audio ** 2) + 1e-12)), 2)}
    targets = [r["target_arousal"] for r in rows.values()]
    measured = [r["measured_arousal"] for r in rows.values()]
    rho = spearman(targets, measured) if len(set(targets)) > 1 and len(set(measured)) > 1 else float("nan")
    return {"text": text, "speaker": speaker, "emotions": rows, "arousal_spearman": None if np.isnan(rho) else round(rho, 4)}


# ----- the loop -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    training.run_trainer(TTSTrainConfig, train, argv, __doc__.split("\n")[0], "train_tts.py")


def train(config: TTSTrainConfig) -> dict:
    started = time.time()
    output_dir = Path(config.output_dir)
    accelerator = training.make_accelerator(config, output_dir)
    clips, too_long = load_clips(config)
    speakers = tuple(sorted({c.speaker for c in clips}))
    emotions = sorted({c.emotion for c in clips})

    set_seed(config.seed)  # the same initial weights on every process
    vits, discriminator, conditioning, coqui_config, kind = build_models(config, speakers)
    dataset = ClipDataset(clips, vits.tokenizer, int(coqui_config.audio.sample_rate), speakers)
    betas = tuple(config.adam_betas)
    optimizer_g = torch.optim.AdamW([
        {"params": list(vits.parameters()), "lr": config.lr_gen},
        {"params": list(conditioning.parameters()), "lr": config.lr_conditioning},
    ], betas=betas, eps=1e-9, weight_decay=config.weight_decay)
    optimizer_d = torch.optim.AdamW(discriminator.parameters(), lr=config.lr_disc, betas=betas, eps=1e-9,
                                    weight_decay=config.weight_decay)
    generator, discriminator, optimizer_g, optimizer_d = accelerator.prepare(
        Generator(vits, conditioning), discriminator, optimizer_g, optimizer_d)
    criteria = (VitsDiscriminatorLoss(coqui_config), VitsGeneratorLoss(coqui_config))

    checkpoint = training.resume_path(config.resume_from_checkpoint, output_dir)
    step = training.checkpoint_step(checkpoint) if checkpoint is not None else 0
    loader = DataLoader(dataset, num_workers=config.dataloader_num_workers,
                        batch_sampler=StepBatches(len(dataset), config.train_batch_size, config.seed, step,
                                                  config.max_train_steps, accelerator.process_index),
                        collate_fn=functools.partial(collate, pad_id=vits.tokenizer.characters.pad_id))
    batches = iter(loader)  # before the RNG states are restored: making the iterator draws from them
    if checkpoint is not None:
        accelerator.load_state(str(checkpoint))
        accelerator.print(f"resumed from {checkpoint} at step {step}")
    if accelerator.is_main_process and config.report_to != "none":
        accelerator.init_trackers("train_tts", config={k: v for k, v in dataclasses.asdict(config).items()
                                                       if isinstance(v, (int, float, str, bool))})
    accelerator.print(
        f"{len(clips)} clips ({too_long} longer than {config.max_clip_seconds} s left out), {len(speakers)} speakers, "
        f"{len(emotions)} emotion labels; {'tiny VITS' if not config.base_model else config.base_model}, "
        f"{sum(p.numel() for p in vits.parameters()) / 1e6:.2f} M generator + "
        f"{sum(p.numel() for p in accelerator.unwrap_model(discriminator).parameters()) / 1e6:.2f} M discriminator "
        f"parameters; {accelerator.num_processes} process(es) on {accelerator.device}; steps {step} -> {config.max_train_steps}")
    fixed = collate([dataset[i] for i in range(min(8, len(dataset)))], vits.tokenizer.characters.pad_id)
    fixed = vits.format_batch_on_device({k: v.to(accelerator.device) for k, v in fixed.items()})
    fixed_before = fixed_batch_mel_loss(generator, vits, fixed, coqui_config, config.seed)
    history, loop_started = [], time.time()
    generator.train()
    discriminator.train()
    for batch in batches:
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        batch = vits.format_batch_on_device(batch)  # linear and mel spectrograms, their lengths
        terms = losses(generator, discriminator, batch, vits, coqui_config, criteria, accelerator,
                       (optimizer_d, optimizer_g), config.max_grad_norm)
        step += 1
        history.append({"step": step, **{k: round(v, 4) for k, v in terms.items()}})
        if step % config.logging_steps == 0 or step == config.max_train_steps:
            accelerator.log(terms, step=step)
            accelerator.print(f"step {step}: loss {terms['loss']:.3f} (mel {terms['loss_mel']:.3f}, "
                              f"kl {terms['loss_kl']:.3f}, disc {terms['loss_disc']:.3f})")
        if step % config.checkpointing_steps == 0 and step < config.max_train_steps:
            training.save_checkpoint(accelerator, output_dir, step, config.checkpoints_total_limit)
    loop_seconds = time.time() - loop_started
    fixed_after = fixed_batch_mel_loss(generator, vits, fixed, coqui_config, config.seed)
    accelerator.wait_for_everyone()
    result = {}
    if accelerator.is_main_process:
        steps_run = len(history)
        trained = {
            "trainer": "train/train_tts.py", "corpus": {"layout": config.layout, "root": str(config.data_root),
                                                        "clips": len(clips), "left_out_too_long": too_long},
            "speakers": list(speakers), "emotions": emotions, "discriminator": kind, "steps": step,
            "base_model": config.base_model, "torchaudio": torchaudio_mode(),
            "config": dataclasses.asdict(config),
        }
        coqui_vits.save_vits(output_dir, accelerator.unwrap_model(generator).vits, coqui_config,
                             accelerator.unwrap_model(generator).conditioning, trained,
                             discriminator=accelerator.unwrap_model(discriminator))
        window = max(1, min(5, steps_run // 2))
        result = {
            "steps_run": steps_run, "loop_seconds": round(loop_seconds, 2),
            "steps_per_second": round(steps_run / loop_seconds, 4) if steps_run else None,
            "batch_size": config.train_batch_size, "device": str(accelerator.device),
            "loss_first": round(float(np.mean([h["loss"] for h in history[:window]])), 4) if history else None,
            "loss_last": round(float(np.mean([h["loss"] for h in history[-window:]])), 4) if history else None,
            "loss_mel_first": round(float(np.mean([h["loss_mel"] for h in history[:window]])), 4) if history else None,
            "loss_mel_last": round(float(np.mean([h["loss_mel"] for h in history[-window:]])), 4) if history else None,
            "fixed_batch_mel_loss_before": fixed_before, "fixed_batch_mel_loss_after": fixed_after,
            "history": history,
        }
        result["conditioning"] = measure_conditioning(output_dir, speakers[0], emotions, config.eval_text)
        result["total_seconds"] = round(time.time() - started, 2)
        write_json_atomic(output_dir / "metrics.json", result)
        accelerator.print(f"wrote {output_dir} ({steps_run} steps in {loop_seconds:.1f} s); loss "
                          f"{result['loss_first']} -> {result['loss_last']}, fixed-batch mel loss {fixed_before} -> "
                          f"{fixed_after}; arousal Spearman "
                          f"{result['conditioning']['arousal_spearman']}")
    accelerator.end_training()
    return result


if __name__ == "__main__":
    main()
