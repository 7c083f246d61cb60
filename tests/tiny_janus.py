"""A tiny random-weight Janus, built from configs on this machine and saved like a checkpoint.

The layout is that of the transformers-format Janus-Pro checkpoints (deepseek-community/...):
`config.json`, `generation_config.json` (guidance 5, temperature 1, the image-start token
in `generation_kwargs`, as the conversion script writes them), the weights, and the
processor (its chat template is the checkpoints' one; `use_default_system_prompt`). Only the
sizes differ: a character-level tokenizer (the special tokens of Janus, then printable
characters), 32x32 images of 16 tokens (vision patches of 8; a VQ decoder with three
upsamplings), a two-layer Llama of width 32. Nothing is downloaded.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import (
    JanusConfig,
    JanusForConditionalGeneration,
    JanusImageProcessorPil,
    JanusProcessor,
    LlamaConfig,
    PreTrainedTokenizerFast,
)

SIZE = 32
"""Width and height of the images the tiny model draws and reads."""
IMAGE_TOKENS = 16
"""Tokens of one image, drawn or read: (32 / 8) ** 2."""

BOS, EOS, PAD = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>"
IMAGE, BEGIN_IMAGE, END_IMAGE = "<image_placeholder>", "<begin_of_image>", "<end_of_image>"
SPECIAL = (BOS, EOS, PAD, IMAGE, BEGIN_IMAGE, END_IMAGE)

CHAT_TEMPLATE = (
    "{%set seps=['\n\n','<\uff5cend\u2581of\u2581sentence\uff5c>']%}"
    "{%set i=0%}"
    "{%for message in messages%}"
    "{%if message['role']|lower=='user'%}"
    "<|User|>: "
    "{%elif message['role']|lower=='assistant'%}"
    "<|Assistant|>:{%if not (loop.last and not add_generation_prompt and "
    "message['content'][0]['type']=='text' and message['content'][0]['text']=='')%} {%endif%}"
    "{%else%}"
    "{{message['role'].capitalize()}}: "
    "{%endif%}"
    "{%for content in message['content']%}"
    "{%if content['type']=='image'%}"
    "{%if not loop.first%}{{'\n'}}{%endif%}"
    "<image_placeholder>"
    "{%if not loop.last%}{{'\n'}}{%endif%}"
    "{%elif content['type']=='text'%}"
    "{%set text=content['text']%}"
    "{%if loop.first%}{%set text=text.lstrip()%}{%endif%}"
    "{%if loop.last%}{%set text=text.rstrip()%}{%endif%}"
    "{%if not loop.first and message['content'][loop.index0-1]['type']=='text'%}"
    "{{' '+text}}"
    "{%else%}"
    "{{text}}"
    "{%endif%}"
    "{%endif%}"
    "{%endfor%}"
    "{%if not loop.last or add_generation_prompt%}"
    "{%if message['role']|lower=='user'%}"
    "{{seps[0]}}"
    "{%else%}"
    "{{seps[1]}}"
    "{%endif%}"
    "{%endif%}"
    "{%endfor%}"
    "{%if add_generation_prompt%}<|Assistant|>:{%endif%}"
)
"""The chat template of the transformers-format Janus checkpoints."""


def _tokenizer() -> PreTrainedTokenizerFast:
    vocab = {token: i for i, token in enumerate(SPECIAL)}
    for char in string.printable:
        vocab.setdefault(char, len(vocab))
    vocab["[UNK]"] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token="[UNK]",
        extra_special_tokens={
            "image_token": IMAGE,
            "boi_token": BEGIN_IMAGE,
            "eoi_token": END_IMAGE,
        },
    )


def build_tiny_janus(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny random-weight Janus (model and processor) into `folder`; return it."""
    tokenizer = _tokenizer()
    processor = JanusProcessor(
        image_processor=JanusImageProcessorPil(size={"height": SIZE, "width": SIZE}),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
        use_default_system_prompt=True,
        num_image_tokens=IMAGE_TOKENS,
    )
    ids = SPECIAL.index  # the special tokens come first in the vocabulary
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        bos_token_id=ids(BOS),
        eos_token_id=ids(EOS),
        pad_token_id=ids(PAD),
    )
    vision = {
        "image_size": SIZE,
        "patch_size": 8,
        "num_image_tokens": IMAGE_TOKENS,
        "hidden_size": 32,
        "projection_dim": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 4,
        "mlp_ratio": 2,
    }
    vq = {
        "embed_dim": 8,
        "num_embeddings": 32,
        "latent_channels": 8,
        "base_channels": 32,  # the VQ model's GroupNorm has 32 groups
        "channel_multiplier": [1, 1, 1, 1],  # three upsamplings: 4x4 tokens -> 32x32 pixels
        "num_res_blocks": 1,
        "projection_dim": 32,
        "image_token_embed_dim": 32,
    }
    config = JanusConfig(
        text_config=text, vision_config=vision, vq_config=vq, image_token_id=ids(IMAGE)
    )
    torch.manual_seed(seed)
    model = JanusForConditionalGeneration(config)
    generation = model.generation_config
    generation._from_model_config = False
    generation.temperature = 1
    generation.guidance_scale = 5
    generation.pad_token_id = ids(PAD)
    generation.generation_kwargs = {"boi_token_id": ids(BEGIN_IMAGE)}  # type: ignore[attr-defined]
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
