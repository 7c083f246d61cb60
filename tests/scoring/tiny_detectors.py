"""Tiny random-weight zero-shot detectors built offline from configs (64 px images).

`save_owlv2` and `save_grounding_dino` write a model folder (weights, config, processor,
tokenizer) that `from_pretrained` reads like a downloaded checkpoint. Nothing is
downloaded: tokenizers are built from tiny vocabularies, image processors from their
defaults with a small size. The weights are random, so detections are arbitrary but
deterministic.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    BertConfig,
    BertTokenizer,
    CLIPTokenizer,
    GroundingDinoConfig,
    GroundingDinoForObjectDetection,
    GroundingDinoProcessor,
    Owlv2Config,
    Owlv2ForObjectDetection,
    Owlv2Processor,
    SwinConfig,
)
from transformers.models.grounding_dino.image_processing_pil_grounding_dino import (
    GroundingDinoImageProcessorPil,
)
from transformers.models.owlv2.image_processing_pil_owlv2 import Owlv2ImageProcessorPil

SIZE = 64
"""Side of the square the detectors see (the image processors resize to it)."""

WORDS = ("dog", "cat", "bird", "car", "tree", "person", "photo", "of", "a")
"""Whole words the Grounding DINO tokenizer knows (others become [UNK])."""


def _clip_tokenizer() -> CLIPTokenizer:
    """A character-level CLIP tokenizer (transformers 5 takes vocabulary and merges as data)."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz":
        vocab[char] = len(vocab)
        vocab[f"{char}</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=32)


def save_owlv2(path: Path) -> Path:
    """An OWLv2 detector: 1-layer text and vision towers, 16 px patches (16 boxes)."""
    config = Owlv2Config(
        text_config={
            "vocab_size": 64,
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "max_position_embeddings": 32,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "image_size": SIZE,
            "patch_size": 16,
        },
        projection_dim=16,
    )
    torch.manual_seed(0)
    model = Owlv2ForObjectDetection(config)
    images = Owlv2ImageProcessorPil(size={"height": SIZE, "width": SIZE})
    processor = Owlv2Processor(  # type: ignore[no-untyped-call]  # transformers: unannotated
        image_processor=images, tokenizer=_clip_tokenizer()
    )
    processor.save_pretrained(path)
    model.save_pretrained(path)
    return path


def save_grounding_dino(path: Path) -> Path:
    """A Grounding DINO detector: a 4-stage Swin of width 8, a 1-layer BERT, d_model 32
    (its group norms need a multiple of 32), 12 queries, 2 decoder layers (transformers
    cannot tie the box heads of a 1-layer decoder)."""
    path.mkdir(parents=True, exist_ok=True)
    vocab = path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", *WORDS]) + "\n")
    tokenizer = BertTokenizer(str(vocab))
    backbone = SwinConfig(
        image_size=SIZE,
        patch_size=4,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 2, 2],
        window_size=2,
    )
    backbone.out_indices = [2, 3, 4]  # a property: the constructor's typed signature lacks it
    config = GroundingDinoConfig(
        backbone_config=backbone,
        text_config=BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        ),
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_n_points=1,
        decoder_n_points=1,
        num_queries=12,
        max_text_len=32,
    )
    torch.manual_seed(0)
    model = GroundingDinoForObjectDetection(config)
    images = GroundingDinoImageProcessorPil(
        size={"shortest_edge": SIZE, "longest_edge": SIZE * 3 // 2}
    )
    processor = GroundingDinoProcessor(  # type: ignore[no-untyped-call]  # transformers: unannotated
        image_processor=images, tokenizer=tokenizer
    )
    processor.save_pretrained(path)
    model.save_pretrained(path)
    return path
