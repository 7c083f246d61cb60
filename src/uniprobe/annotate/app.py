"""The annotation server: one page per canvas; labels go to `RUN/labels.sqlite`.

Starlette on uvicorn, on 127.0.0.1 unless told otherwise. The page is static HTML, JS
and CSS shipped in this package (no CDN, no network); it talks to a small JSON API:

```
GET  /                          the page
GET  /api/run                   the run: id, model, suite, how many canvases and items
GET  /api/next?annotator=NAME   the next canvas NAME has not finished (fewest labels first)
                                [&exclude=ID...: skipped ones, unless nothing else is left]
GET  /api/canvas/{id}           one canvas [?annotator=NAME: with NAME's labels]
POST /api/labels                {"annotator", "canvas", "item", "label"} (JSON); 400 if bad
GET  /api/export?format=csv|jsonl   every label, history included (CSV cells made safe
                                for spreadsheets, see `store.labels.files`)
GET  /images/{sha256}.{ext}     an image of the run, only from RUN/images
```

Every error is JSON, `{"error": "one line"}`, with a 4xx status for anything wrong with
the request (the bounds and rules are in `annotate.inputs`). Answers come from in-memory
indexes (`annotate.tally`) that every request brings up to date with the rows added to
the label file since (by row id, so labels another process imports count too); nothing
is rescanned. A label is acknowledged only once it is committed and synced.

Safety: images are served only by a sha256 file name from `RUN/images` after resolving
symlinks (anything else is 404); a loopback-only server accepts only loopback Host
headers (no DNS rebinding; anything else is 400); labels are accepted only as
`application/json` (a page on another site cannot post them without a CORS preflight,
which is refused); every
response forbids scripts and connections from anywhere but the server itself.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uniprobe.annotate.inputs import (
    MAX_PATH,
    MAX_QUERY,
    LabelRequest,
    Refused,
    content_length,
    first_error,
    json_content,
    label_request,
    next_query,
    one_param,
    read_body,
    shown,
)
from uniprobe.annotate.items import CanvasGroup, Item
from uniprobe.annotate.tally import Tally
from uniprobe.errors import UniprobeError, UsageError
from uniprobe.store.labels.db import LabelStore, Vote
from uniprobe.store.labels.files import format_labels
from uniprobe.store.labels.label import Label, LabelValue
from uniprobe.store.records import ImageRef
from uniprobe.store.rundir import RunDir

__all__ = [
    "LOOPBACK_HOSTS",
    "REFRESH_SECONDS",
    "Annotation",
    "LabelRequest",
    "Standing",
    "canvas_json",
    "create_app",
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Host header values a loopback-only server answers."""

_IMAGE_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp|gif)$")
REFRESH_SECONDS = 0.25
"""How often the server reads the rows other processes added to the label file."""
_MEDIA = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
_STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@dataclass(frozen=True)
class Standing:
    """Where one annotator stands."""

    progress: dict[str, int]
    """done (canvases they finished), total (canvases), labels (items they labelled)."""
    todo: list[str]
    """Canvas ids they have not finished, the next one first."""
    mine: dict[str, LabelValue]
    """Item key -> their latest label."""


class Annotation:
    """What the server works on: a run's canvases (built once), its label store, and the
    indexes of who answered what (`Tally`).

    A label this server stores is counted as soon as it is committed; rows other
    processes add (an import) are read, by row id, at most every `refresh` seconds.
    """

    def __init__(
        self,
        run: RunDir,
        groups: Sequence[CanvasGroup],
        store: LabelStore,
        *,
        refresh: float = REFRESH_SECONDS,
    ) -> None:
        self.run, self.store = run, store
        self.groups = {g.id: g for g in groups}
        self._tally = Tally(groups)
        self._lock = threading.Lock()
        self._refresh_every = refresh
        self._read_id = 0
        self._read_at = -math.inf

    def refresh(self) -> None:
        """Read every row added to the label file since the last read now (the server does
        it once before it serves, so that no request waits for a large file's rows)."""
        with self._lock:
            self._refresh(force=True)

    def _refresh(self, *, force: bool = False) -> Tally:
        """The tally, with the rows others added if it is time to look (hold the lock)."""
        now = time.monotonic()
        if force or now - self._read_at >= self._refresh_every:
            votes = self.store.votes_after(self._read_id)
            self._tally.add(votes)
            self._read_id = max([self._read_id, *(v.id for v in votes)])
            self._read_at = now
        return self._tally

    def count(self, stored: Label) -> None:
        """Count a label this server has just stored (its row id set)."""
        assert stored.id is not None
        vote = Vote(stored.id, stored.item, stored.annotator, stored.label, stored.created)
        with self._lock:
            self._tally.add([vote])

    def standing(self, annotator: str) -> Standing:
        """Where `annotator` stands; the canvases they have not finished come in the order
        to answer them: fewest annotators done, then fewest labels, then run order."""
        with self._lock:
            tally = self._refresh()
            progress = tally.progress(annotator).as_dict()
            return Standing(progress, tally.todo(annotator), dict(tally.labels_of(annotator)))

    def next_for(
        self, annotator: str, skipped: Sequence[str] = ()
    ) -> tuple[dict[str, Any] | None, dict[str, int]]:
        """The next canvas for `annotator` (as the page reads it; None when they finished
        every one; skipped canvases only when nothing else is left) and their progress."""
        with self._lock:
            tally = self._refresh()
            gid = tally.next_canvas(annotator, set(skipped))
            group = self.groups[gid] if gid is not None else None
            mine = tally.mine(annotator, [it.key for it in group.items]) if group else {}
            progress = tally.progress(annotator).as_dict()
        return (canvas_json(group, mine) if group else None), progress

    def seen_by(self, group: CanvasGroup, annotator: str) -> dict[str, Any]:
        """A canvas with `annotator`'s labels on it and their progress."""
        with self._lock:
            tally = self._refresh()
            mine = tally.mine(annotator, [it.key for it in group.items])
            progress = tally.progress(annotator).as_dict()
        return {**canvas_json(group, mine), "progress": progress}

    def progress(self, annotator: str) -> dict[str, int]:
        """How far `annotator` is."""
        with self._lock:
            return self._refresh().progress(annotator).as_dict()

    def item(self, canvas: str, key: str) -> Item:
        """An item shown on a canvas, or UsageError naming what is unknown."""
        group = self.groups.get(canvas)
        if group is None:
            raise UsageError(f"canvas: no canvas '{shown(canvas)}' in this run")
        for it in group.items:
            if it.key == key:
                return it
        raise UsageError(f"item: no item '{shown(key)}' on canvas '{shown(canvas)}'")


def _image(ref: ImageRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "url": f"/images/{ref.filename}",
        "sha256": ref.sha256,
        "width": ref.width,
        "height": ref.height,
    }


def canvas_json(group: CanvasGroup, mine: Mapping[str, str]) -> dict[str, Any]:
    """A canvas as the page reads it (no judge verdicts: people answer unprompted)."""
    return {
        "id": group.id,
        "case_id": group.case_id,
        "epoch": group.epoch,
        "turn": group.turn,
        "image": _image(group.image),
        "note": group.note,
        "dialogue": [
            {
                "index": t.index,
                "user": t.user,
                "attached": [_image(r) for r in t.attached],
                "text": t.text,
                "refusal": t.refusal,
                "images": [_image(r) for r in t.images],
                "error": t.error,
            }
            for t in group.dialogue
        ],
        "checks": [
            {
                "item": it.key,
                "kind": it.kind,
                "path": it.path,
                "question": it.question,
                "hint": it.hint,
                "reference": None
                if it.reference is None
                else {"what": it.reference.what, "image": _image(it.reference.image)},
                "regions": [{"name": r.name, "box": list(r.box)} for r in it.regions],
                "mine": mine.get(it.key),
            }
            for it in group.items
        ],
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _Handlers:
    def __init__(self, annotation: Annotation) -> None:
        self.a = annotation

    async def index(self, request: Request) -> Response:
        page = _static_text("index.html")
        return Response(page, media_type="text/html; charset=utf-8")

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return _error(404, "not found")
        return Response(_static_text(name), media_type=_STATIC[name])

    async def run_info(self, request: Request) -> Response:
        m = self.a.run.manifest()
        items = sum(len(g.items) for g in self.a.groups.values())
        return JSONResponse(
            {
                "run": m.run_id,
                "model": m.model.name,
                "suite": m.suite.name,
                "canvases": len(self.a.groups),
                "items": items,
            }
        )

    async def next_canvas(self, request: Request) -> Response:
        query = next_query(request.query_params)
        # on the event loop: microseconds of index work and one indexed query (no rescan)
        canvas, progress = self.a.next_for(query.annotator, query.exclude)
        return JSONResponse({"canvas": canvas, "progress": progress})

    async def canvas(self, request: Request) -> Response:
        gid = request.path_params["id"]
        group = self.a.groups.get(gid)
        if group is None:
            return _error(404, f"no canvas '{shown(gid)}' in this run")
        if not request.query_params:
            return JSONResponse({**canvas_json(group, {}), "progress": None})
        query = next_query(request.query_params)
        return JSONResponse(self.a.seen_by(group, query.annotator))

    async def add_label(self, request: Request) -> Response:
        json_content(request.headers)
        req = label_request(await read_body(request))
        try:
            label = self.a.item(req.canvas, req.item).label(req.annotator, req.label)
        except ValidationError as exc:
            return _error(400, first_error(exc))
        except UsageError as exc:
            return _error(400, str(exc))
        try:  # in a thread: it waits for the disk (and shares the commit with others)
            stored: Label = await run_in_threadpool(self.a.store.add, label)
        except UniprobeError as exc:  # the label file itself is unusable
            return _error(500, str(exc))
        self.a.count(stored)
        progress = self.a.progress(stored.annotator)
        return JSONResponse({"label": stored.model_dump(mode="json"), "progress": progress})

    async def export(self, request: Request) -> Response:
        fmt = one_param(request.query_params, "format", "csv", {"csv": "", "jsonl": ""})
        labels = await run_in_threadpool(self.a.store.labels)
        text = format_labels(labels, "csv" if fmt == "csv" else "jsonl")
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        name = f"labels-{self.a.run.path.name}.{fmt}"
        disposition = f'attachment; filename="{_safe_filename(name)}"'
        return Response(text, media_type=media, headers={"content-disposition": disposition})

    async def image(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not _IMAGE_NAME.fullmatch(name):
            return _error(404, "not found")
        folder = self.a.run.images_dir.resolve()
        path = (folder / name).resolve()  # follows symlinks: one pointing out is refused
        if path.parent != folder or not path.is_file():
            return _error(404, "not found")
        headers = {"cache-control": "private, max-age=86400, immutable"}
        return FileResponse(path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers=headers)


def _safe_filename(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def _static_text(name: str) -> str:
    return (resources.files("uniprobe.annotate") / "static" / name).read_text(encoding="utf-8")


class _SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in _SECURITY_HEADERS.items():
                    headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Gate:
    """Refuses, before any route runs, a request whose Host is not loopback (unless the
    server is remote), whose path or query is too long, or whose declared body is too big:
    a JSON error, nothing read."""

    def __init__(self, app: ASGIApp, *, remote: bool) -> None:
        self.app, self.remote = app, remote

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check(scope)
        except Refused as exc:
            await _refusal(exc)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        if not self.remote and _host(headers.get("host", "")) not in LOOPBACK_HOSTS:
            raise Refused(400, "this server answers only requests for a loopback address")
        if len(scope.get("raw_path") or b"") > MAX_PATH:
            raise Refused(414, f"a path is at most {MAX_PATH} bytes")
        if len(scope.get("query_string", b"")) > MAX_QUERY:
            raise Refused(414, f"a query is at most {MAX_QUERY} bytes")
        content_length(headers)


def _host(value: str) -> str:
    """A Host header without its port, lower case ('[::1]:8765' -> '[::1]')."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else ""
    return value.split(":", 1)[0]


def _refusal(exc: Refused) -> JSONResponse:
    response = _error(exc.status, str(exc))
    if exc.status == 413:  # the rest of the body is not read: end the connection
        response.headers["connection"] = "close"
    return response


async def _on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return _refusal(exc)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"error": exc.detail}, status_code=exc.status_code, headers=exc.headers or None
    )


async def _on_crash(request: Request, exc: Exception) -> Response:
    return _error(500, "the server failed on this request; its log says why")


def create_app(annotation: Annotation, *, remote: bool = False) -> Starlette:
    """The Starlette app, its label indexes loaded. Unless `remote`, it answers only
    loopback Host headers."""
    annotation.refresh()
    h = _Handlers(annotation)
    routes = [
        Route("/", h.index),
        Route("/static/{name}", h.static),
        Route("/api/run", h.run_info),
        Route("/api/next", h.next_canvas),
        Route("/api/canvas/{id}", h.canvas),
        Route("/api/labels", h.add_label, methods=["POST"]),
        Route("/api/export", h.export),
        Route("/images/{name}", h.image),
    ]
    middleware = [Middleware(_SecurityHeaders), Middleware(_Gate, remote=remote)]
    handlers = {Refused: _on_refused, HTTPException: _on_http, Exception: _on_crash}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
