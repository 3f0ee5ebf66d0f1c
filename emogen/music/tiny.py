"""A tiny randomly initialised MusicGen (T5 text encoder + EnCodec + decoder), built offline in code.

It has the classes and folder layout of facebook/musicgen-small, so tests prove the MusicGen backend's
loading, prompting, seeding and segment continuation on it; its audio is noise. The tokenizer is a
word-level one over the words the cue table's prompts use (others map to <unk>).
"""
from __future__ import annotations

from pathlib import Path

from emogen.music.cues import CUE_TABLE

PROMPT_WORDS = (
    "happy joyful uplifting tense aggressive dramatic sad melancholic mournful calm tender peaceful instrumental "
    "music in major minor bpm loud soft moderate dynamics staccato legato bright warm mellow clear with and "
    "dissonant harmony marimba piano pizzicato bass organ brass lead synth cello strings contrabass flute , "
    "c c# d eb e f f# g ab a bb b"
)


def save_tiny_musicgen(folder: str | Path, seed: int = 0) -> Path:
    """Write a ~100k-parameter MusicGen (16 kHz, 2 codebooks, 50 frames/s) and its tokenizer to ``folder``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (EncodecConfig, MusicgenConfig, MusicgenDecoderConfig,
                              MusicgenForConditionalGeneration, PreTrainedTokenizerFast, T5Config)

    words = sorted(set(PROMPT_WORDS.split()) | {word for cue in CUE_TABLE for word in cue.name.split()})
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, **{word: index + 3 for index, word in enumerate(words)}}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>",
                                        unk_token="<unk>")
    tokenizer.model_input_names = ["input_ids", "attention_mask"]
    text = T5Config(vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    # 16 kHz with hop 320 (upsampling 8 x 5 x 4 x 2) is 50 code frames per second, as in musicgen-small.
    audio = EncodecConfig(sampling_rate=16000, hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=64,
                          target_bandwidths=[0.6], upsampling_ratios=[8, 5, 4, 2])
    decoder = MusicgenDecoderConfig(vocab_size=64, max_position_embeddings=1024, num_hidden_layers=1, ffn_dim=32,
                                    num_attention_heads=2, hidden_size=16, num_codebooks=2, pad_token_id=64,
                                    bos_token_id=64)
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder))
    # EnCodec's codebooks start at zero (trained weights fill them); random ones make codes audible.
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_()
    model.generation_config.update(decoder_start_token_id=64, pad_token_id=64, bos_token_id=64, do_sample=True,
                                   guidance_scale=3.0, max_length=1024)
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
