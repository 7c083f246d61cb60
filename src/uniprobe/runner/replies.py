"""Replies on disk and back: a backend's `Reply` as the `ReplyRecord` a run keeps, and a
recorded conversation as the `Conversation` a backend is handed.

`conversation_of` is the one way a finished sample's dialogue is rebuilt (to ask a probe
again on `--resume`): the user's words, the attached images and the reply images read
back from the run folder (checked against their hashes), the replies' text, refusal,
revised prompt, usage, cost, state and provider facts. Rebuilt, a conversation has the
same identity as the live one (the same reply-cache key), since images are the same
bytes and replies keep their continuation state.
"""

from __future__ import annotations

from dataclasses import asdict

from uniprobe.backends.base import (
    Conversation,
    Exchange,
    ImageData,
    Reply,
    SessionContext,
    Usage,
    UserTurn,
)
from uniprobe.errors import RunDirError
from uniprobe.hashing import sha256_bytes
from uniprobe.store.records import ImageRef, ReplyRecord, SampleRecord, UsageRecord
from uniprobe.store.rundir import RunDir

__all__ = ["conversation_of", "image_data", "reply_of", "reply_record"]


def reply_record(run: RunDir, reply: Reply, seconds: float) -> ReplyRecord:
    """What the run keeps of a reply: its images stored by hash, everything else as is."""
    return ReplyRecord(
        images=[run.put_image(img.data) for img in reply.images],
        text=reply.text,
        refusal=reply.refusal,
        revised_prompt=reply.revised_prompt,
        usage=UsageRecord(**asdict(reply.usage)),  # the same fields, as a record
        cost_usd=reply.cost_usd,
        latency_s=round(seconds, 4),
        state=dict(reply.state),
        raw_meta=dict(reply.raw_meta),
    )


def image_data(run: RunDir, ref: ImageRef, sample: str) -> ImageData:
    """The stored bytes of `ref`, checked against its hash; a missing or damaged file
    raises `RunDirError` naming it and the sample (`sample`, a key) that holds it."""
    path = run.image_path(ref)
    repair = "restore the file from a backup, or run without --resume into a new --out"
    try:
        data = path.read_bytes()
    except OSError as exc:
        why = "missing" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc.strerror}"
        raise RunDirError(f"{path}: {why} (an image of sample {sample}); {repair}") from None
    if sha256_bytes(data) != ref.sha256:
        raise RunDirError(
            f"{path}: damaged (an image of sample {sample}): its bytes do not match their "
            f"hash; {repair}"
        )
    return ImageData(data, ref.mime)


def reply_of(run: RunDir, record: ReplyRecord, sample: str) -> Reply:
    """The reply a record keeps, as a backend returned it (images read back)."""
    return Reply(
        images=tuple(image_data(run, ref, sample) for ref in record.images),
        text=record.text,
        refusal=record.refusal,
        revised_prompt=record.revised_prompt,
        usage=Usage(**record.usage.model_dump()),
        cost_usd=record.cost_usd,
        state=dict(record.state),
        raw_meta=dict(record.raw_meta),
    )


def conversation_of(
    run: RunDir, sample: SampleRecord, context: SessionContext, turns: int
) -> Conversation:
    """The conversation of `sample` after its first `turns` turns (0: nothing said yet),
    rebuilt from the run folder. Every one of those turns must have a reply."""
    history = []
    for record in sample.turns[:turns]:
        if record.reply is None:
            raise RunDirError(
                f"{run.samples_path}: sample {sample.key} has no reply at turn "
                f"{record.index}; its conversation cannot be rebuilt"
            )
        images = tuple(image_data(run, ref, sample.key) for ref in record.attached)
        turn = UserTurn(record.index, record.user, images)
        history.append(Exchange(turn, reply_of(run, record.reply, sample.key)))
    return Conversation(context, tuple(history))
