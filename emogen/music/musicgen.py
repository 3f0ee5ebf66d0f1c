"""The MusicGen backend: emotion -> descriptor prompt (with tempo) -> transformers MusicGen, from local weights.

The prompt is the cue table's plan in words (cues.describe): mood, key and mode, bpm, dynamics,
articulation, timbre and ensemble, which is the vocabulary of the text descriptions MusicGen was
trained on. An arc is generated segment by segment: the piece is cut at the arc's keyframes (and into
pieces of at most ``segment_s``), each segment gets the prompt of the arc at its middle and continues
from the last ``context_s`` of the audio so far (MusicGen's audio-prompt continuation), so the music
changes with the arc without restarting.

Weights load only from a local folder (``local_files_only``), e.g. after
``huggingface-cli download facebook/musicgen-small --local-dir models/musicgen-small``. audiocraft's own
MusicGen is not wired in: its pins (torch==2.1) conflict with the torch emogen needs; the transformers
port loads the same checkpoints.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emogen.emotion import Emotion, EmotionArc
from emogen.errors import EmotionError
from emogen.music.composer import check_seconds, check_seed
from emogen.music.cues import describe, plan_segment


@dataclass(frozen=True)
class MusicGenConfig:
    model: str  # a local folder holding a transformers MusicGen checkpoint and its tokenizer
    guidance_scale: float = 3.0  # classifier-free guidance on the text, MusicGen's default
    top_k: int = 250
    temperature: float = 1.0
    segment_s: float = 10.0  # longest stretch generated at once; later stretches continue from the audio
    context_s: float = 2.0  # how much of the previous audio each continuation is prompted with
    device: str = "cpu"


@dataclass(frozen=True)
class MusicGenSegment:
    start_s: float
    seconds: float
    prompt: str

    def to_dict(self) -> dict:
        return {"start_s": round(self.start_s, 4), "seconds": round(self.seconds, 4), "prompt": self.prompt}


def prompt_for(emotion: Emotion) -> str:
    """The descriptor prompt of one emotion (MusicGen picks its own key, so the tonic is written as C)."""
    return describe(plan_segment(emotion, tonic=0), emotion)


def plan_segments(arc: EmotionArc, seconds: float, segment_s: float) -> list[MusicGenSegment]:
    """Stretches cut at the arc's keyframes and every ``segment_s``, each with its mid-point's prompt."""
    cuts = {0.0, float(seconds)} | {k.time for k in arc.keyframes if 0.0 < k.time < seconds}
    bounds = sorted(cuts)
    edges = []
    for start, end in zip(bounds, bounds[1:]):
        pieces = max(1, math.ceil((end - start) / segment_s - 1e-9))
        edges += [start + (end - start) * i / pieces for i in range(pieces)]
    edges.append(float(seconds))
    return [MusicGenSegment(a, b - a, prompt_for(arc.at((a + b) / 2))) for a, b in zip(edges, edges[1:])]


class MusicGenBackend:
    """A transformers MusicGen checkpoint that writes music for emotions and arcs."""

    def __init__(self, config: MusicGenConfig):
        self.config = config
        folder = Path(config.model)
        if not (folder / "config.json").is_file():  # checked first: a wrong path should not wait for imports
            raise EmotionError(f"MusicGen model folder {folder} has no config.json; download one first, e.g. "
                               "huggingface-cli download facebook/musicgen-small --local-dir models/musicgen-small")
        try:
            import torch
            from transformers import AutoTokenizer, MusicgenForConditionalGeneration
        except ImportError as err:
            raise EmotionError(f"the musicgen backend needs transformers with MusicGen ({err}); "
                               "pip install 'transformers>=4.44' torch") from None
        try:
            self.model = MusicgenForConditionalGeneration.from_pretrained(folder, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as err:
            raise EmotionError(f"cannot load a MusicGen model from {folder}: {str(err).splitlines()[0]}") from None
        self.model.to(config.device).eval()
        self._torch = torch
        audio = self.model.config.audio_encoder
        self.sample_rate = int(audio.sampling_rate)
        self.hop = int(np.prod(audio.upsampling_ratios))  # samples per code frame
        self.frame_rate = self.sample_rate / self.hop

    def generate(self, spec: Emotion | EmotionArc | str, seconds: float,
                 seed: int = 0) -> tuple[np.ndarray, list[MusicGenSegment]]:
        """Mono float32 audio ``seconds`` long at ``self.sample_rate``, and the segments it was made of."""
        seconds, seed = check_seconds(seconds), check_seed(seed)
        arc = EmotionArc.parse(spec)
        segments = plan_segments(arc, seconds, self.config.segment_s)
        audio = np.zeros(0, dtype=np.float32)
        with self._torch.random.fork_rng():  # seeded sampling without touching the caller's generator
            self._torch.manual_seed(seed)
            for segment in segments:
                # A whole number of code frames, so the re-decoded prompt can be cut off exactly.
                keep = min(audio.size, self._context_samples()) // self.hop * self.hop
                audio = np.concatenate([audio, self._generate(segment, audio[audio.size - keep:] if keep else None)])
        length = int(round(seconds * self.sample_rate))
        return np.pad(audio, (0, max(0, length - audio.size)))[:length].astype(np.float32), segments

    def _context_samples(self) -> int:
        return round(self.config.context_s * self.frame_rate) * self.hop

    def _generate(self, segment: MusicGenSegment, context: np.ndarray | None) -> np.ndarray:
        torch = self._torch
        frames = max(1, math.ceil(segment.seconds * self.frame_rate))
        inputs = dict(self.tokenizer([segment.prompt], return_tensors="pt", padding=True))
        if context is not None:
            inputs["input_values"] = torch.from_numpy(context.astype(np.float32))[None, None]
            inputs["padding_mask"] = torch.ones(1, context.size, dtype=torch.long)
        inputs = {name: value.to(self.config.device) for name, value in inputs.items()}
        with torch.inference_mode():
            # The decoder's delay pattern spends num_codebooks - 1 steps before the first full frame.
            values = self.model.generate(
                **inputs, max_new_tokens=frames + self.model.decoder.num_codebooks - 1, do_sample=True,
                guidance_scale=self.config.guidance_scale, top_k=self.config.top_k,
                temperature=self.config.temperature)
        audio = values[0, 0].float().cpu().numpy()
        if context is not None:
            audio = audio[context.size:]  # the output starts with the prompt, re-decoded
        return audio[: int(round(segment.seconds * self.sample_rate))]
