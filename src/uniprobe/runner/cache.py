"""A reply cache: a re-run spends nothing on what it already has.

An SQLite file maps a key — the hash of the backend, the model's canonical options,
the context protocol, the sample's seed and the whole dialogue so far (every user
message, the hashes of every image, every earlier reply) plus the turn to answer, and for
a question asked in words (`Backend.ask`, a probe) the word "ask" and its JSON schema — to
the reply, with its images stored once by content hash. Only successful replies are
stored (refusals are successful answers; errors are not). Several processes may share
one file (WAL mode).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uniprobe.backends.base import Conversation, ImageData, Reply, Usage, UserTurn
from uniprobe.hashing import sha256_json

__all__ = ["ReplyCache", "cache_key"]

SCHEMA = """
create table if not exists replies (key text primary key, reply text not null,
                                    created text default current_timestamp);
create table if not exists images (sha256 text primary key, mime text not null,
                                   data blob not null);
"""


def _turn_id(turn: UserTurn) -> dict[str, Any]:
    return {"text": turn.text, "images": [i.sha256 for i in turn.images]}


def _reply_id(reply: Reply) -> dict[str, Any]:
    return {
        "images": [i.sha256 for i in reply.images],
        "text": reply.text,
        "refusal": reply.refusal,
        "state": dict(reply.state),
    }


def cache_key(
    *,
    backend: str,
    options: Mapping[str, Any],
    protocol: str,
    conversation: Conversation,
    turn: UserTurn,
    ask: bool = False,
    schema: Mapping[str, Any] | None = None,
) -> str:
    """The identity of one call: everything that can change its answer. A `send` (draw)
    and an `ask` (answer in words, with `schema`) of the same turn are different calls;
    the key of a send is what it was before `ask` existed, so old caches stay valid."""
    identity: dict[str, Any] = {
        "backend": backend,
        "options": dict(options),
        "protocol": protocol,
        "seed": conversation.context.seed,
        "history": [[_turn_id(e.turn), _reply_id(e.reply)] for e in conversation.history],
        "turn": _turn_id(turn),
    }
    if ask:
        identity["call"] = "ask"
        identity["schema"] = None if schema is None else dict(schema)
    return sha256_json(identity)


class ReplyCache:
    """The SQLite reply cache at `path`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("pragma journal_mode=wal")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Reply | None:
        """The stored reply for `key`, or None."""
        with self._lock:
            row = self._db.execute("select reply from replies where key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            data = json.loads(row[0])
            images = []
            for sha in data["images"]:
                img = self._db.execute(
                    "select mime, data from images where sha256 = ?", (sha,)
                ).fetchone()
                if img is None:  # an image row lost: treat the whole reply as missing
                    self.misses += 1
                    return None
                images.append(ImageData(bytes(img[1]), img[0]))
            self.hits += 1
        return Reply(
            images=tuple(images),
            text=data["text"],
            refusal=data["refusal"],
            revised_prompt=data["revised_prompt"],
            usage=Usage(**data["usage"]),
            cost_usd=data["cost_usd"],
            state=data["state"],
            raw_meta={**data["raw_meta"], "cached": True},
        )

    def put(self, key: str, reply: Reply) -> None:
        """Store a successful reply (images first, then the reply, in one transaction)."""
        data = {
            "images": [i.sha256 for i in reply.images],
            "text": reply.text,
            "refusal": reply.refusal,
            "revised_prompt": reply.revised_prompt,
            "usage": reply.usage.__dict__,
            "cost_usd": reply.cost_usd,
            "state": dict(reply.state),
            "raw_meta": dict(reply.raw_meta),
        }
        with self._lock, self._db:
            for img in reply.images:
                self._db.execute(
                    "insert or ignore into images values (?, ?, ?)",
                    (img.sha256, img.mime, img.data),
                )
            self._db.execute(
                "insert or replace into replies (key, reply) values (?, ?)", (key, json.dumps(data))
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
