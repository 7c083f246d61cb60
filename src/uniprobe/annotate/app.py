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
GET  /api/export?format=csv|jsonl   every label, history included
GET  /images/{sha256}.{ext}     an image of the run, only from RUN/images
```

Safety: images are served only by a sha256 file name from `RUN/images` after resolving
symlinks (anything else is 404); a loopback-only server accepts only loopback Host
headers (no DNS rebinding); labels are accepted only as `application/json` (a page on
another site cannot post them without a CORS preflight, which is refused); every
response forbids scripts and connections from anywhere but the server itself.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from uniprobe.annotate.items import CanvasGroup, Item
from uniprobe.errors import UniprobeError, UsageError
from uniprobe.store.labels.db import LabelStore
from uniprobe.store.labels.files import format_labels
from uniprobe.store.labels.label import Label, LabelValue
from uniprobe.store.records import ImageRef
from uniprobe.store.rundir import RunDir

__all__ = [
    "LOOPBACK_HOSTS",
    "Annotation",
    "LabelRequest",
    "Standing",
    "canvas_json",
    "create_app",
]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Host header values a loopback-only server answers."""

_IMAGE_NAME = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp|gif)$")
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
_MAX_BODY = 16_384


class LabelRequest(BaseModel):
    """The body of POST /api/labels."""

    model_config = ConfigDict(extra="forbid")

    annotator: str = Field(min_length=1, max_length=64)
    """Who answers."""
    canvas: str = Field(min_length=1)
    """The canvas id the item was shown on."""
    item: str = Field(min_length=1)
    """The item key."""
    label: LabelValue
    """pass, fail or cant_tell."""


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
    """What the server works on: a run's canvases (built once) and its label store."""

    def __init__(self, run: RunDir, groups: Sequence[CanvasGroup], store: LabelStore) -> None:
        self.run, self.store = run, store
        self.groups = {g.id: g for g in groups}
        self.order = {g.id: i for i, g in enumerate(groups)}

    def standing(self, annotator: str) -> Standing:
        """Where `annotator` stands; the canvases they have not finished come in the order
        to answer them: fewest annotators done, then fewest labels, then run order."""
        latest = self.store.latest()
        mine = {lb.item: lb.label for lb in latest if lb.annotator == annotator}
        per_item = Counter(lb.item for lb in latest)
        finished_by: Counter[str] = Counter()
        people: dict[str, set[str]] = {}
        for lb in latest:
            people.setdefault(lb.annotator, set()).add(lb.item)
        for gid, group in self.groups.items():
            keys = {it.key for it in group.items}
            finished_by[gid] = sum(keys <= done for done in people.values())
        todo = [g for g in self.groups.values() if not {it.key for it in g.items} <= mine.keys()]
        todo.sort(
            key=lambda g: (
                finished_by[g.id],
                sum(per_item[it.key] for it in g.items),
                self.order[g.id],
            )
        )
        total = len(self.groups)
        progress = {"done": total - len(todo), "total": total, "labels": len(mine)}
        return Standing(progress, [g.id for g in todo], mine)

    def item(self, canvas: str, key: str) -> Item:
        """An item shown on a canvas, or UsageError naming what is unknown."""
        group = self.groups.get(canvas)
        if group is None:
            raise UsageError(f"canvas: no canvas '{canvas}' in this run")
        for it in group.items:
            if it.key == key:
                return it
        raise UsageError(f"item: no item '{key}' on canvas '{canvas}'")


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
        annotator = request.query_params.get("annotator", "").strip()
        if not annotator:
            return _error(400, "annotator: name yourself first (?annotator=NAME)")
        skipped = set(request.query_params.getlist("exclude"))
        now = await run_in_threadpool(self.a.standing, annotator)
        todo = [gid for gid in now.todo if gid not in skipped] or now.todo
        canvas = canvas_json(self.a.groups[todo[0]], now.mine) if todo else None
        return JSONResponse({"canvas": canvas, "progress": now.progress})

    async def canvas(self, request: Request) -> Response:
        group = self.a.groups.get(request.path_params["id"])
        if group is None:
            return _error(404, f"no canvas '{request.path_params['id']}' in this run")
        annotator = request.query_params.get("annotator", "").strip()
        if not annotator:
            return JSONResponse({**canvas_json(group, {}), "progress": None})
        now = await run_in_threadpool(self.a.standing, annotator)
        return JSONResponse({**canvas_json(group, now.mine), "progress": now.progress})

    async def add_label(self, request: Request) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return _error(415, "send the label as JSON (Content-Type: application/json)")
        body = await request.body()
        if len(body) > _MAX_BODY:
            return _error(413, f"a label is at most {_MAX_BODY} bytes")
        try:
            data = json.loads(body)
        except ValueError as exc:  # bad JSON or bad UTF-8
            return _error(400, f"the body is not JSON: {getattr(exc, 'msg', exc)}")
        try:
            req = LabelRequest.model_validate(data)
            label = self.a.item(req.canvas, req.item).label(req.annotator, req.label)
        except ValidationError as exc:
            return _error(400, _first_error(exc))
        except UsageError as exc:
            return _error(400, str(exc))
        try:
            stored: Label = await run_in_threadpool(self.a.store.add, label)
        except UniprobeError as exc:  # the label file itself is unusable
            return _error(500, str(exc))
        now = await run_in_threadpool(self.a.standing, stored.annotator)
        return JSONResponse({"label": stored.model_dump(mode="json"), "progress": now.progress})

    async def export(self, request: Request) -> Response:
        fmt = request.query_params.get("format", "csv")
        if fmt not in ("csv", "jsonl"):
            return _error(400, f"format: use csv or jsonl, not '{fmt}'")
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


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {str(err['msg']).removeprefix('Value error, ')}"


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


def create_app(annotation: Annotation, *, remote: bool = False) -> Starlette:
    """The Starlette app. Unless `remote`, it answers only loopback Host headers."""
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
    hosts = ["*"] if remote else list(LOOPBACK_HOSTS)
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(TrustedHostMiddleware, allowed_hosts=hosts),
    ]
    return Starlette(routes=routes, middleware=middleware)
