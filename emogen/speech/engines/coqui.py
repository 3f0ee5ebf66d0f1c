"""Coqui TTS (``pip install 'emogen[coqui]'``): any local VITS or XTTS model folder.

Coqui has no emotion control of its own, so emotion comes in two ways:

- VITS: a model trained by train/train_tts.py carries ``emotion_conditioning/`` (speaker + emotion ->
  the d-vector VITS is conditioned on). The plan's emotion (an arc: its mean over time) becomes that
  vector; the plan's rate becomes VITS's ``length_scale``. Other VITS folders (e.g. Coqui releases)
  speak neutrally and get the plan from the post-processor alone. Word times come from VITS's own
  duration predictor (frames per input token; space tokens separate words, punctuation ends phrases),
  matched to the text's words by alignment.py.
- XTTS: a voice is cloned from reference clips, so emotion comes from clips the user recorded per
  emotion: a folder with ``neutral.wav`` (required) and any of ``anger.wav``, ``joy.wav``, ... (or
  ``<emotion>/*.wav`` folders). The clip set whose category lies nearest to the plan's emotion in
  valence-arousal-dominance space is used, and the plan's rate becomes XTTS's ``speed``. XTTS gives no
  alignment, so a phrase is the speech between the first and last non-silent frame and its words share
  it by length (alignment.py's fallback): approximate.

Either way the same post-processor then makes the result follow the plan (pitch, per-word timing,
pauses, voice quality, level), measured against this engine's neutral take. VITS samples noise; the
noise is seeded from the text, so the neutral and the emotional take of a sentence share it and differ
by the conditioning only.

Loading goes through ``TTS.tts.models`` (never ``TTS.api``, which downloads); see coqui_runtime.py for
torchaudio on CPU-only torch.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from emogen.emotion import Emotion
from emogen.emotion.categories import canonical_category
from emogen.errors import EmotionError
from emogen.speech.coqui_runtime import import_coqui
from emogen.speech.engines.alignment import align_words
from emogen.speech.engines.base import SpeechEngine, Timing, Utterance
from emogen.speech.plan import ProsodyPlan, WordPlan
from emogen.speech.text import check_text, split_words

import_coqui()  # ImportError (-> "engine 'coqui' is not installed") before anything else
from emogen.speech import coqui_vits  # noqa: E402
from emogen.speech.emotion_conditioning import EmotionConditioning, utterance_features  # noqa: E402

NEUTRAL = "neutral"
# XTTS: frames quieter than this re the loudest frame are silence (speech edges for word times).
SILENCE_DB = -40.0


@functools.lru_cache(maxsize=2)
def _load_vits(folder: str) -> coqui_vits.LoadedVits:
    return coqui_vits.load_vits(folder)


@functools.lru_cache(maxsize=1)
def _load_xtts(folder: str):
    from TTS.tts.models import setup_model

    config = coqui_vits.read_config(folder)
    model = setup_model(config)
    model.load_checkpoint(config, checkpoint_dir=folder, eval=True)
    return model, config


def _rate(plan: ProsodyPlan | None) -> float:
    """One rate per call (the geometric mean over words); the post-processor corrects each word."""
    if plan is None:
        return 1.0
    return float(np.exp(np.mean([np.log(w.cues.rate) for w in plan.words])))


def _seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


class CoquiEngine(SpeechEngine):
    """A local Coqui model folder (``model``); ``speaker``: a speaker it was trained on (multi-speaker
    models); ``references``: XTTS's per-emotion reference clips (folder or {emotion: [wav, ...]})."""

    name = "coqui"
    realises = frozenset({"rate"})

    def __init__(self, model: str | Path | None = None, speaker: str | None = None,
                 references: str | Path | Mapping | None = None, language: str = "en") -> None:
        if model is None:
            raise EmotionError("engine 'coqui' needs a local model folder (config.json + weights): "
                               "emogen speak --engine coqui --model PATH")
        folder = Path(model)
        config = coqui_vits.read_config(folder)
        self._folder, self._speaker, self._language = folder, speaker, language
        self.kind = config.model
        if self.kind == "vits":
            self._vits = _load_vits(str(folder.resolve()))
            self._check_speaker()
            if references is not None:
                raise EmotionError("reference clips are for XTTS models; this is a VITS model")
        elif self.kind == "xtts":
            if references is None:
                raise EmotionError("an XTTS model needs reference clips: --references DIR with neutral.wav "
                                   "(and e.g. anger.wav, joy.wav, or <emotion>/*.wav folders)")
            self._references = _reference_sets(references)
            self._xtts, self._xtts_config = _load_xtts(str(folder.resolve()))
            self._latents: dict[str, tuple] = {}
        else:
            raise EmotionError(f"{folder} holds a Coqui {self.kind!r} model; engine 'coqui' speaks VITS and XTTS models")

    @property
    def voice(self) -> str:
        return f"{self._folder}" + (f"#{self._speaker}" if self._speaker else "")

    @property
    def has_emotion_conditioning(self) -> bool:
        return self.kind == "vits" and self._vits.conditioning is not None

    def synthesize(self, text: str, plan: ProsodyPlan | None = None) -> Utterance:
        words = split_words(check_text(text))
        if self.kind == "xtts":
            return self._xtts_synthesize(text, words, plan)
        return self._vits_synthesize(text, words, plan)

    def emotion_take(self, text: str, emotion) -> Utterance:
        """The model's own rendering of ``emotion`` at its neutral rate, without a plan or post-processing:
        what the learned conditioning alone does (VITS with emotion conditioning; XTTS: the nearest clips)."""
        words = split_words(check_text(text))
        plan = ProsodyPlan.for_text(text, emotion)
        neutral_rate = ProsodyPlan(plan.text, plan.utterance, tuple(
            WordPlan(w.word, replace(w.cues, rate=1.0), w.pause_after_s, w.start_s) for w in plan.words), plan.emotion)
        if self.kind == "xtts":
            return self._xtts_synthesize(text, words, neutral_rate)
        return self._vits_synthesize(text, words, neutral_rate)

    # ----- VITS ---------------------------------------------------------------------------------------
    def _check_speaker(self) -> None:
        loaded = self._vits
        if loaded.conditioning is not None:
            loaded.conditioning.speaker_index(self._speaker)  # EmotionError naming the known speakers
            return
        manager = loaded.model.speaker_manager
        names = list(manager.name_to_id) if manager is not None and manager.name_to_id else []
        embeddings = manager.embeddings if manager is not None and manager.embeddings else {}
        if self._speaker is not None and self._speaker not in names:
            raise EmotionError(f"speaker {self._speaker!r} is not in this model; accepted: {', '.join(names[:30]) or 'none (single speaker)'}")
        if self._speaker is None and (names or embeddings):
            self._speaker = names[0] if names else None

    def _aux_input(self, token_count: int, emotion) -> dict:
        loaded, aux = self._vits, {"x_lengths": torch.tensor([token_count]), "d_vectors": None,
                                   "speaker_ids": None, "language_ids": None}
        if loaded.conditioning is not None:
            with torch.no_grad():
                speaker = torch.tensor([loaded.conditioning.speaker_index(self._speaker)])
                aux["d_vectors"] = loaded.conditioning(speaker, utterance_features([emotion]))
        elif self._speaker is not None:
            manager = loaded.model.speaker_manager
            if loaded.config.model_args.use_d_vector_file:
                aux["d_vectors"] = torch.tensor(manager.get_mean_embedding(self._speaker), dtype=torch.float32)[None]
            else:
                aux["speaker_ids"] = torch.tensor([manager.name_to_id[self._speaker]])
        return aux

    def _vits_synthesize(self, text: str, words, plan: ProsodyPlan | None) -> Utterance:
        model = self._vits.model
        ids = model.tokenizer.text_to_ids(text)
        if not ids:
            raise EmotionError(f"this VITS model has no symbols for any character of {text[:40]!r}")
        emotion = plan.emotion if plan is not None and plan.emotion is not None else Emotion.neutral()
        aux = self._aux_input(len(ids), emotion)
        previous = model.length_scale
        model.length_scale = previous / _rate(plan)
        try:
            with torch.random.fork_rng(devices=[]), torch.inference_mode():
                torch.manual_seed(_seed(text))
                outputs = model.inference(torch.tensor([ids]), aux_input=aux)
        finally:
            model.length_scale = previous
        audio = outputs["model_outputs"][0, 0].float().numpy()
        sample_rate = int(self._vits.config.audio.sample_rate)
        frames = outputs["durations"][0, 0].tolist()
        characters = model.tokenizer.characters
        groups, tokens = coqui_vits.word_groups(coqui_vits.token_symbols(model, ids), frames, characters.blank,
                                                self._vits.config.audio.hop_length / sample_rate)
        end = len(audio) / sample_rate
        groups = [[(min(a, end), min(b, end)) for a, b in phrase] for phrase in groups] or [[(0.0, end)]]
        phonemes = tuple(Timing(s, a, min(b, end)) for s, a, b in tokens if a < end) if self._vits.config.use_phonemes else ()
        return Utterance(audio.astype(np.float32), sample_rate, align_words(words, groups), phonemes)

    # ----- XTTS ---------------------------------------------------------------------------------------
    def _nearest_reference(self, plan: ProsodyPlan | None) -> str:
        if plan is None or plan.emotion is None:
            return NEUTRAL
        target = np.asarray(utterance_features([plan.emotion])[0, :3])  # the (mean) VAD point
        distances = {name: float(np.sum((np.asarray(Emotion.parse(name).vad) - target) ** 2)) for name in self._references}
        return min(distances, key=distances.get)

    def _xtts_synthesize(self, text: str, words, plan: ProsodyPlan | None) -> Utterance:
        name = self._nearest_reference(plan)
        if name not in self._latents:
            self._latents[name] = self._xtts.get_conditioning_latents(audio_path=[str(p) for p in self._references[name]])
        gpt_latent, speaker_embedding = self._latents[name]
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(_seed(text))
            output = self._xtts.inference(text, self._language, gpt_latent, speaker_embedding, speed=_rate(plan))
        audio = np.asarray(output["wav"], dtype=np.float32).reshape(-1)
        sample_rate = int(self._xtts_config.audio.output_sample_rate)
        start, end = _speech_edges(audio, sample_rate)
        return Utterance(audio, sample_rate, align_words(words, [[(start, end)]]))


def _reference_sets(references: str | Path | Mapping) -> dict[str, list[Path]]:
    """{canonical emotion: [wav paths]} from a folder (<emotion>.wav or <emotion>/*.wav) or a mapping."""
    if isinstance(references, Mapping):
        items = {k: [Path(p) for p in (v if isinstance(v, (list, tuple)) else [v])] for k, v in references.items()}
    else:
        folder = Path(references)
        if not folder.is_dir():
            raise EmotionError(f"references {str(folder)!r} is not a folder of per-emotion clips")
        items = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() == ".wav":
                items.setdefault(path.stem, []).append(path)
            elif path.is_dir():
                items.setdefault(path.name, []).extend(sorted(path.glob("*.wav")))
    sets: dict[str, list[Path]] = {}
    for label, paths in items.items():
        try:
            name = canonical_category(label)
        except EmotionError:
            raise EmotionError(f"reference clips {label!r} are not named after an emotion category "
                               "(e.g. neutral, anger, joy, sadness, fear, surprise)") from None
        for path in paths:
            if not path.is_file():
                raise EmotionError(f"reference clip {path} does not exist")
        if paths:
            sets.setdefault(name, []).extend(paths)
    if NEUTRAL not in sets:
        raise EmotionError(f"the reference clips need a neutral one (neutral.wav or neutral/*.wav); found: {', '.join(sets) or 'none'}")
    return sets


def _speech_edges(audio: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """First and last frame (20 ms) within SILENCE_DB of the loudest one."""
    hop = max(1, int(0.02 * sample_rate))
    frames = len(audio) // hop
    if frames == 0:
        return 0.0, len(audio) / sample_rate
    energy = (audio[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2).mean(axis=1) + 1e-12
    loud = np.flatnonzero(10 * np.log10(energy / energy.max()) > SILENCE_DB)
    return float(loud[0] * hop / sample_rate), float((loud[-1] + 1) * hop / sample_rate)
