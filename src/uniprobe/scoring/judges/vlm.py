"""The VLM judge: a vision-language model answers atomic questions; our code decides.

For each canvas, every check the engine may ask about (`prepare`) becomes one or more
atomic questions (`vlm_prompt`): "how many dolphins" (an integer), "is the cat left
of the dog" (yes/no), "what colour is the car" (a palette name). Equal questions are
asked once, and one call per canvas answers all of them as a JSON object under a
strict schema. The verdict is then computed here from the answers, with the same
semantics as the reference judge (e.g. the VLM counted 4 dolphins, the check wants 5:
fail). `unchanged` and `same_as` are asked in a separate call per (reference, canvas)
pair that sends both images and asks only about differences outside what may change.

Nothing is imputed: a failed call (after retries), a refusal, a reply that is not
valid JSON, a missing or invalid answer, an "unsure", or a tie between samples makes
the verdict `unknown` with the reason. Every call is booked once on the sample's
ledger with its tokens and cost (None when the price is unknown).

Recorded with each verdict: the question and answer, the API and provider, the model
requested and the model that served the call, the prompt version (a hash of every
template), the sampling knobs sent (`temperature` is None when it was left out: the
model rejects or ignores it, per `providers.toml`), the sizes of the images sent and
the resize rule, and the raw reply (truncated past `max_reply_chars`). API keys never
leave `Config`.

Answers are remembered by image content and question for the judge's lifetime (the
last `MEMO_SIZE`), failures included: a question is never asked twice, and calls for
the same canvas from samples scored at once are shared.

With `samples > 1` (self-consistency) the call is made that many times at
`sample_temperature` (or at the model's own sampling when it takes no temperature);
each question takes the majority answer, with the agreement share recorded; a tie is
`unknown`.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image
from pydantic import Field, SecretStr, model_validator

from uniprobe.backends.base import Usage
from uniprobe.backends.pricing import catalog, cost_of, price_for
from uniprobe.cases.checks import Check
from uniprobe.config import Config, Connection
from uniprobe.errors import BackendError, ConfigError
from uniprobe.hashing import sha256_bytes
from uniprobe.limits import Limiter, RetryPolicy, call_with_retries
from uniprobe.scoring.judge import Judge, JudgeContext, JudgeOptions, JudgeResult, Ledger, judges
from uniprobe.scoring.judges.vlm_api import ChatApi, GeminiApi, VlmApi, VlmReply, VlmRequest
from uniprobe.scoring.judges.vlm_checks import Answer, Need, Plan, Planner, Purpose, Target
from uniprobe.scoring.questions import (
    COMPARE_PROMPT,
    IMAGE_PROMPT,
    PROMPT_VERSION,
    VERIFY_PROMPT,
    Question,
    ReplyError,
    Value,
    answer_schema,
    qid,
    read_reply,
    render_prompt,
    verify_question,
)

__all__ = ["DEFAULT_MODELS", "MEMO_SIZE", "RESIZE_RULE", "VlmJudge"]

DEFAULT_MODELS = {
    "openai": catalog().defaults.judge_openai,
    "google": catalog().defaults.judge_google,
}
"""Pinned models used when the options name none (per provider; others must name one),
from `uniprobe/backends/providers.toml`."""
RESIZE_RULE = (
    "RGB; longest side scaled down to max_side ({max_side} px) with Lanczos, aspect ratio "
    "kept, never enlarged; sent as PNG"
)
"""How images are prepared before they are sent (recorded in evidence)."""
MEMO_SIZE = 4096
"""Answers remembered across samples (by image content and question)."""

_PROMPTS: dict[Purpose, str] = {
    "image": IMAGE_PROMPT,
    "compare": COMPARE_PROMPT,
    "verify": VERIFY_PROMPT,
}


@dataclass(frozen=True)
class _Run:
    """One call's outcome: answers per question, or the reason there are none."""

    answers: list[Value | None]
    problems: dict[int, str]
    evidence: dict[str, Any]


@judges.register("vlm")
class VlmJudge(Judge):
    """A vision-language model over an OpenAI-compatible or the Gemini API."""

    name = "vlm"
    version = "1"
    kinds = frozenset(
        {
            "count",
            "present",
            "absent",
            "relation",
            "position",
            "color",
            "style",
            "ask",
            "unchanged",
            "same_as",
        }
    )

    class Options(JudgeOptions):
        """VLM judge settings; recorded with every score (no keys: those stay in config)."""

        provider: str = "openai"
        """Config provider the key and URL come from ('openai', 'google', 'compat/<name>')."""
        api: Literal["auto", "chat", "gemini"] = "auto"
        """auto: gemini for provider 'google', else OpenAI-compatible chat completions."""
        model: str | None = None
        """Model id (default for openai and google: a pinned model, `DEFAULT_MODELS`)."""
        temperature: float = Field(0.0, ge=0, le=2)
        """Sampling temperature of a single call (not sent to models that take none)."""
        samples: int = Field(1, ge=1, le=25)
        """Self-consistency: calls per question set; the majority answer wins."""
        sample_temperature: float = Field(0.7, ge=0, le=2)
        """Temperature of the calls when samples > 1 (not sent to models that take none)."""
        reasoning_effort: Literal["none", "minimal", "low", "medium", "high"] | None = None
        """Chat `reasoning_effort`, sent to models that take it (None: the model's default)."""
        max_side: int = Field(1024, ge=64, le=8192)
        """Images are scaled down so that their longest side is at most this (see RESIZE_RULE)."""
        detail: Literal["low", "high", "auto"] = "high"
        """Chat `image_url.detail`."""
        gemini_api_version: Literal["v1", "v1beta"] = "v1beta"
        """API version path of the Gemini native API."""
        concurrency: int | None = Field(None, ge=1)
        """Calls in flight at once (default: the provider's `concurrency`, else 4)."""
        max_attempts: int = Field(4, ge=1, le=20)
        """Attempts per call, the first included (retryable errors only)."""
        retry_base_delay: float = Field(1.0, ge=0)
        """Seconds before the first retry, doubled each time."""
        retry_max_delay: float = Field(30.0, ge=0)
        """Upper bound of one wait."""
        price_input_per_mtok: float | None = Field(None, ge=0)
        """USD per million input tokens (with the output price; else the pricing table)."""
        price_output_per_mtok: float | None = Field(None, ge=0)
        """USD per million output tokens."""
        max_reply_chars: int = Field(2000, ge=100)
        """Raw replies longer than this are truncated in evidence (and marked so)."""

        @model_validator(mode="before")
        @classmethod
        def _defaults(cls, data: Any) -> Any:
            if not isinstance(data, dict):
                return data
            data = dict(data)
            provider = str(data.get("provider", "openai"))
            if data.get("api", "auto") == "auto":
                data["api"] = "gemini" if provider == "google" else "chat"
            if data.get("model") is None:
                if provider not in DEFAULT_MODELS:
                    raise ValueError(f"provider '{provider}' needs the model to ask (model=...)")
                data["model"] = DEFAULT_MODELS[provider]
            return data

        @model_validator(mode="after")
        def _prices(self) -> VlmJudge.Options:
            if (self.price_input_per_mtok is None) != (self.price_output_per_mtok is None):
                raise ValueError("give both price_input_per_mtok and price_output_per_mtok")
            return self

    options: Options

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})
        self.config = config or Config()
        o = self.options
        assert o.model is not None  # filled in by the options' validator
        conn = self.config.connection(o.provider)
        if o.provider.startswith("compat/"):
            if not conn.base_url:
                raise ConfigError(
                    f'vlm judge: set base_url under [providers."{o.provider}"] in the config file'
                )
            # Local servers often need no key; the SDK insists on one.
            conn = Connection(conn.api_key or SecretStr("unused"), conn.base_url, conn.timeout)
        else:
            conn.key("vlm judge")  # fail now, not on the first call
        self.api: VlmApi = (
            GeminiApi(conn, model=o.model, api_version=o.gemini_api_version)
            if o.api == "gemini"
            else ChatApi(conn, model=o.model, detail=o.detail)
        )
        provider = self.config.provider(o.provider)
        self.limiter = Limiter(
            concurrency=o.concurrency or provider.concurrency or 4, rpm=provider.rpm
        )
        self.retry = RetryPolicy(
            max_attempts=o.max_attempts,
            base_delay=o.retry_base_delay,
            max_delay=o.retry_max_delay,
        )
        self._memo: OrderedDict[tuple[str, Question], asyncio.Future[Answer]] = OrderedDict()
        self.planner = Planner()

    async def aclose(self) -> None:
        """Close the API client."""
        await self.api.aclose()

    # --- the Judge protocol -------------------------------------------------------------

    async def prepare(self, queries: Sequence[tuple[Check, JudgeContext]]) -> None:
        """Ask every question these queries need: one call per canvas (and per
        reference-canvas pair), all calls concurrently within the limits."""
        needs: list[tuple[Need, Ledger]] = []
        for check, ctx in queries:
            plan = self.planner.plan(check, ctx)
            if isinstance(plan, Plan):
                needs.extend((n, ctx.ledger) for n in plan.needs.values())
        _, tasks = self._launch(needs)
        await asyncio.gather(*tasks)

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one check from the (prepared or now asked) answers."""
        plan = self.planner.plan(check, ctx)
        if isinstance(plan, JudgeResult):
            return plan
        roles = list(plan.needs)
        answers = await self._answers([plan.needs[r] for r in roles], ctx.ledger)
        return plan.decide(dict(zip(roles, answers, strict=True)))

    async def verify(
        self, crops: Sequence[tuple[Image.Image, str]], ledger: Ledger
    ) -> list[bool | None]:
        """For each crop, whether it shows the named object (None: unsure or failed);
        all crops in one call."""
        if not crops:
            return []
        images = tuple(c for c, _ in crops)
        keys = "|".join(self.planner.image_key(im) for im in images)
        target = Target("verify:" + sha256_bytes(keys.encode()), "verify", images)
        needs = [Need(target, verify_question(i + 1, word)) for i, (_, word) in enumerate(crops)]
        answers = await self._answers(needs, ledger)
        return [{"yes": True, "no": False}.get(str(a.value)) for a in answers]

    # --- asking ---------------------------------------------------------------------------

    async def _answers(self, needs: Sequence[Need], ledger: Ledger) -> list[Answer]:
        futures, tasks = self._launch([(n, ledger) for n in needs])
        await asyncio.gather(*tasks)
        return [await f for f in futures]

    def _launch(
        self, needs: Sequence[tuple[Need, Ledger]]
    ) -> tuple[list[asyncio.Future[Answer]], list[asyncio.Task[None]]]:
        """Start one call per target for the questions not yet asked; the futures of
        every need (in order) and the calls started."""
        loop = asyncio.get_running_loop()
        todo: dict[str, tuple[Target, list[Question], Ledger]] = {}
        for need, ledger in needs:
            key = (need.target.key, need.question)
            if key in self._memo:
                continue
            entry = todo.setdefault(need.target.key, (need.target, [], ledger))
            if need.question not in entry[1]:
                entry[1].append(need.question)
        tasks: list[asyncio.Task[None]] = []
        for target, questions, ledger in todo.values():
            futures = [loop.create_future() for _ in questions]
            for q, f in zip(questions, futures, strict=True):
                self._memo[(target.key, q)] = f
            tasks.append(asyncio.create_task(self._resolve(target, questions, futures, ledger)))
        wanted = [self._memo[(n.target.key, n.question)] for n, _ in needs]
        self._trim()
        return wanted, tasks

    def _trim(self) -> None:
        while len(self._memo) > MEMO_SIZE:
            key, oldest = next(iter(self._memo.items()))
            if not oldest.done():
                break
            del self._memo[key]

    async def _resolve(
        self,
        target: Target,
        questions: list[Question],
        futures: list[asyncio.Future[Answer]],
        ledger: Ledger,
    ) -> None:
        try:
            answers = await self._ask(target, questions, ledger)
        except BaseException as exc:  # cancelled, or a bug: nobody may wait forever
            for q, f in zip(questions, futures, strict=True):
                self._memo.pop((target.key, q), None)
                if f.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    f.cancel()
                else:
                    f.set_exception(exc)
            raise
        for f, a in zip(futures, answers, strict=True):
            f.set_result(a)

    def _encode(self, images: tuple[Image.Image, ...]) -> list[bytes]:
        out = []
        for image in images:
            im = image.convert("RGB")
            side = max(im.size)
            if side > self.options.max_side:
                scale = self.options.max_side / side
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                im = im.resize(size, Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            out.append(buf.getvalue())
        return out

    async def _ask(self, target: Target, questions: list[Question], ledger: Ledger) -> list[Answer]:
        """Ask a target's questions (`samples` times) and read the answers."""
        o = self.options
        pngs = await asyncio.to_thread(self._encode, target.images)
        labels = _labels(target.purpose, len(pngs))
        request = VlmRequest(
            prompt=render_prompt(_PROMPTS[target.purpose], questions),
            images=tuple(zip(labels, pngs, strict=True)),
            schema=answer_schema(questions),
            **self._knobs(),
        )
        common = {
            "api": self.api.name,
            "provider": o.provider,
            "model": o.model,
            "prompt_version": PROMPT_VERSION,
            "temperature": request.temperature,
            "reasoning_effort": request.reasoning_effort,
            "images_sent": [list(_png_size(p)) for p in pngs],
            "resize": RESIZE_RULE.format(max_side=o.max_side),
        }
        runs = await asyncio.gather(
            *(self._call(request, questions, ledger) for _ in range(o.samples))
        )
        return [_combine(i, runs, common) for i in range(len(questions))]

    async def _call(self, request: VlmRequest, questions: list[Question], ledger: Ledger) -> _Run:
        """One call, retried; booked once on the ledger if the API answered."""
        attempts = [1]

        def retried(_error: BackendError, _wait: float) -> None:
            attempts[0] += 1

        try:
            reply = await call_with_retries(
                lambda: self.api.ask(request),
                policy=self.retry,
                limiter=self.limiter,
                on_retry=retried,
            )
        except BackendError as exc:
            tries = f" after {attempts[0]} attempts" if attempts[0] > 1 else ""
            reason = f"the VLM call failed{tries}: {exc}"
            return _Run([None] * len(questions), {}, {"error": reason})
        cost = self._cost(reply)
        ledger.add(
            self.name,
            calls=1,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost_usd=cost,
        )
        evidence = {
            "model_served": reply.model,
            "finish_reason": reply.finish,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
            "cost_usd": cost,
            **self._raw(reply),
        }
        return _read(reply, questions, evidence)

    def _raw(self, reply: VlmReply) -> dict[str, Any]:
        text = reply.text if reply.text is not None else reply.refusal
        if text is None:
            return {"reply": None}
        limit = self.options.max_reply_chars
        if len(text) <= limit:
            return {"reply": text}
        return {"reply": text[:limit], "reply_truncated": f"first {limit} of {len(text)} chars"}

    def _knobs(self) -> dict[str, Any]:
        """The sampling knobs to send: no temperature to a model that rejects or ignores
        one (`accepts_temperature = false` in providers.toml); reasoning_effort only to a
        model that takes it."""
        o = self.options
        assert o.model is not None
        entry = catalog().entry(o.model)
        takes_temperature = entry is None or entry.accepts_temperature
        takes_effort = entry is None or entry.reasoning_effort
        temperature = o.temperature if o.samples == 1 else o.sample_temperature
        return {
            "temperature": temperature if takes_temperature else None,
            "reasoning_effort": o.reasoning_effort if takes_effort else None,
        }

    def _cost(self, reply: VlmReply) -> float | None:
        """USD of one call: the options' prices, else the pricing table's price of the
        model that served the call (as the response names it); None if unknown."""
        tokens_in, tokens_out = reply.input_tokens, reply.output_tokens
        if tokens_in is None or tokens_out is None:
            return None
        o = self.options
        if o.price_input_per_mtok is not None and o.price_output_per_mtok is not None:
            total = tokens_in * o.price_input_per_mtok + tokens_out * o.price_output_per_mtok
            return round(total / 1e6, 8)
        assert o.model is not None
        price = price_for(reply.model or o.model, self.config.prices)
        usage = Usage(
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cached_input_tokens=reply.cached_input_tokens,
        )
        return cost_of(usage, price)


# --- reading replies -----------------------------------------------------------------------


def _labels(purpose: Purpose, n: int) -> list[str | None]:
    if purpose == "image":
        return [None] * n
    if purpose == "compare":
        return ["Image 1 (the original):", "Image 2 (the later version):"]
    return [f"Image {i + 1}:" for i in range(n)]


def _png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as im:
        return im.size


def _read(reply: VlmReply, questions: list[Question], evidence: dict[str, Any]) -> _Run:
    nothing: list[Value | None] = [None] * len(questions)
    if reply.refusal is not None:
        return _Run(nothing, {}, {**evidence, "error": f"the VLM refused: {reply.refusal}"})
    if not reply.text:
        why = f" (finish reason {reply.finish})" if reply.finish else ""
        return _Run(nothing, {}, {**evidence, "error": f"the VLM's reply is empty{why}"})
    try:
        answers, problems = read_reply(reply.text, questions)
    except ReplyError as exc:
        why = (
            f" (finish reason {reply.finish})" if reply.finish not in (None, "stop", "STOP") else ""
        )
        return _Run(nothing, {}, {**evidence, "error": f"{exc}{why}"})
    return _Run(answers, problems, evidence)


def _combine(i: int, runs: Sequence[_Run], common: dict[str, Any]) -> Answer:
    """Question i's answer over the runs: the only one, or the majority of several."""
    if len(runs) == 1:
        run = runs[0]
        evidence = {"qid": qid(i), **common, **run.evidence}
        problem = run.evidence.get("error") or run.problems.get(i)
        return Answer(run.answers[i], problem if run.answers[i] is None else None, evidence)
    votes = [r.answers[i] for r in runs]
    tally = Counter(votes)
    (top, n), *rest = tally.most_common()
    evidence = {
        "qid": qid(i),
        **common,
        "samples": len(runs),
        "votes": votes,
        "agreement": round(n / len(runs), 4),
        "calls": [r.evidence for r in runs],
    }
    if rest and rest[0][1] == n:
        tied = " and ".join(repr(v) for v, c in tally.most_common() if c == n)
        return Answer(None, f"the VLM's {len(runs)} samples tie between {tied}", evidence)
    if top is None:
        first = next(
            (r.evidence.get("error") or r.problems.get(i) for r in runs if r.answers[i] is None),
            None,
        )
        return Answer(None, f"most of the VLM's samples gave no answer ({first})", evidence)
    return Answer(top, None, evidence)
