"""What the OpenAI-speaking backends share: the client, and reading its errors.

The SDK's own retries are off (`max_retries=0`): the runner's retry policy decides.
Errors become `BackendError`s that say what failed; a moderation block is not an
error but a refusal, returned as such. Text that comes from the provider (error
bodies, refusals) is redacted of the key (and of anything shaped like a key) here,
where it enters our code: a server that echoes the key must not put it in a run folder.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

from uniprobe.backends.base import ImageData, ModelListings
from uniprobe.backends.pricing import catalog
from uniprobe.config import Connection
from uniprobe.errors import BackendError, ConfigError
from uniprobe.hashing import sha256_json
from uniprobe.redact import redact

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "OpenAIClient",
    "checked_image",
    "data_url",
    "decode_image",
    "download_image",
    "from_openai_error",
    "listing_problem",
    "make_client",
    "moderation_message",
    "not_offered",
]

MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_DOWNLOAD = 64 * 1024 * 1024
"""Largest image accepted by URL, in bytes."""
DOWNLOAD_TIMEOUT = 60.0
"""Seconds to fetch an image by URL."""


def make_client(connection: Connection, backend: str) -> AsyncOpenAI:
    """An async OpenAI client with retries off."""
    try:
        from openai import AsyncOpenAI
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"{backend} needs the OpenAI SDK: pip install 'uniprobe[openai]'"
        ) from None
    return AsyncOpenAI(
        api_key=connection.key(backend),
        base_url=connection.base_url,
        max_retries=0,
        timeout=connection.timeout,
    )


class OpenAIClient:
    """Mixin for a backend that talks through one SDK client, made on first use."""

    name: str
    connection: Connection
    _client: AsyncOpenAI | None = None

    def client_connection(self) -> Connection:
        """The connection the client is made with."""
        return self.connection

    def secrets(self) -> tuple[str, ...]:
        """Values to redact from what the provider says: the key, if there is one."""
        return self.client_connection().secrets()

    def client(self) -> AsyncOpenAI:
        """The SDK client (made on first use)."""
        if self._client is None:
            self._client = make_client(self.client_connection(), self.name)
        return self._client

    async def aclose(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def check_offered(
        self, listings: ModelListings, names: Sequence[tuple[str, str]]
    ) -> list[str]:
        """Problems with the key and with `names` ((what, model name) pairs): one
        `models.list` call per endpoint and key for the whole run. A server that does not
        list its models (404) has its names taken on trust."""
        conn = self.client_connection()
        key = conn.api_key.get_secret_value() if conn.api_key else ""
        try:
            offered = await listings.get(
                "openai " + sha256_json([conn.base_url, key]), self._list_models
            )
        except BackendError as exc:
            return [listing_problem(exc, self.name, conn)]
        return not_offered(self.name, names, offered)

    async def _list_models(self) -> frozenset[str] | None:
        import openai

        try:
            return frozenset([m.id async for m in self.client().models.list()])
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):  # no /models here: names not checked
                return None
            raise from_openai_error(exc, self.name, self.secrets()) from exc
        except Exception as exc:  # SDK errors are mapped where they enter our code
            raise from_openai_error(exc, self.name, self.secrets()) from exc


def listing_problem(exc: BackendError, backend: str, conn: Connection) -> str:
    """The line for a failed `models.list`: a rejected key says where the key comes from."""
    if exc.kind == "auth":
        where = f": check {conn.key_hint}" if conn.key_hint else ""
        return f"{backend}: the provider rejected the API key (HTTP {exc.status}){where}"
    return (
        f"{backend}: could not list the provider's models: {str(exc).removeprefix(backend + ': ')}"
    )


def not_offered(
    backend: str, names: Sequence[tuple[str, str]], offered: frozenset[str] | None
) -> list[str]:
    """One line per name the provider does not offer, naming the closest it does (and, for a
    name the provider data file lists as retired, when and what replaces it)."""
    if offered is None:
        return []
    problems = []
    for what, name in names:
        if name in offered:
            continue
        close = difflib.get_close_matches(name, sorted(offered), n=1, cutoff=0.0)
        hint = f"; the closest it offers is '{close[0]}'" if close else ""
        entry = catalog().entry(name)
        if entry is not None and entry.status == "retired":
            hint = f" (retired on {entry.shutdown}; use '{entry.replacement}')" + hint
        problems.append(f"{backend}: the provider does not offer {what} '{name}'{hint}")
    return problems


def _retry_after(headers: Mapping[str, str]) -> float | None:
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def moderation_message(exc: Exception, secrets: Iterable[str] = ()) -> str | None:
    """The message of a moderation block (an outcome, not an error), redacted, else None."""
    from openai import BadRequestError

    if isinstance(exc, BadRequestError) and getattr(exc, "code", None) == "moderation_blocked":
        body = exc.body if isinstance(exc.body, dict) else {}
        return redact(str(body.get("message") or "moderation_blocked"), secrets)
    return None


def from_openai_error(exc: Exception, backend: str, secrets: Iterable[str] = ()) -> BackendError:
    """The BackendError an SDK exception means, its message redacted of `secrets` (and of
    anything shaped like a key)."""
    error = _from_openai_error(exc, backend)
    return BackendError(
        redact(str(error), secrets).removeprefix(f"{backend}: "),
        backend=backend,
        status=error.status,
        retryable=error.retryable,
        kind=error.kind,
        retry_after=error.retry_after,
    )


def _from_openai_error(exc: Exception, backend: str) -> BackendError:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return BackendError("request timed out", backend=backend, kind="timeout", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(
            f"connection failed: {exc}", backend=backend, kind="network", retryable=True
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = getattr(exc, "code", None)
        headers = dict(exc.response.headers) if exc.response is not None else {}
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = body.get("message") or exc.message
        message = f"HTTP {status}" + (f" {code}" if code else "") + f": {detail}"
        if status == 429:
            quota = code == "insufficient_quota" or headers.get("x-should-retry") == "false"
            return BackendError(
                message,
                backend=backend,
                status=status,
                kind="rate_limit",
                retryable=not quota,
                retry_after=_retry_after(headers),
            )
        if status in (401, 403):
            return BackendError(message, backend=backend, status=status, kind="auth")
        if status >= 500 or status in (408, 409):
            return BackendError(
                message,
                backend=backend,
                status=status,
                kind="server",
                retryable=True,
                retry_after=_retry_after(headers),
            )
        return BackendError(message, backend=backend, status=status, kind="client")
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return BackendError(
            f"unreadable response: {exc}", backend=backend, kind="bad_response", retryable=True
        )
    return BackendError(f"{type(exc).__name__}: {exc}", backend=backend, kind="client")


def decode_image(b64: Any, mime: str, backend: str) -> ImageData:
    """Image bytes from a base64 field; a field that is not base64 is a bad response."""
    if not isinstance(b64, str) or not b64:
        raise BackendError(
            "image field is empty", backend=backend, kind="bad_response", retryable=True
        )
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise BackendError(
            "image field is not valid base64", backend=backend, kind="bad_response", retryable=True
        ) from None
    return checked_image(data, mime, backend)


async def download_image(
    url: str,
    mime: str,
    backend: str,
    *,
    limit: int = MAX_DOWNLOAD,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> ImageData:
    """An image a server answered with by URL: fetched with a bounded size and time.

    A failed download is a retryable network error; a body over `limit` bytes, or one
    that is not an image, a bad response.
    """
    import httpx2

    if not url.startswith(("http://", "https://")):
        raise BackendError(
            f"image URL is not http(s): {url[:80]}", backend=backend, kind="bad_response"
        )
    try:
        async with (
            httpx2.AsyncClient(timeout=timeout, follow_redirects=True) as http,
            http.stream("GET", url) as resp,
        ):
            if resp.status_code != 200:
                raise BackendError(
                    f"image download failed: HTTP {resp.status_code}",
                    backend=backend,
                    status=resp.status_code,
                    kind="server" if resp.status_code >= 500 else "bad_response",
                    retryable=resp.status_code >= 500,
                )
            data = bytearray()
            async for chunk in resp.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise BackendError(
                        f"image download is over {limit} bytes",
                        backend=backend,
                        kind="bad_response",
                    )
    except httpx2.TimeoutException:
        raise BackendError(
            "image download timed out", backend=backend, kind="timeout", retryable=True
        ) from None
    except httpx2.HTTPError as exc:
        raise BackendError(
            f"image download failed: {type(exc).__name__}",
            backend=backend,
            kind="network",
            retryable=True,
        ) from None
    return checked_image(bytes(data), mime, backend)


def checked_image(data: bytes, mime: str, backend: str) -> ImageData:
    """The bytes as an image if they decode as one; else a (retryable) bad response."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            im.verify()  # every chunk read and checked, no pixels decoded
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise BackendError(
            f"image does not decode: {exc}", backend=backend, kind="bad_response", retryable=True
        ) from None
    return ImageData(
        data, {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}.get(fmt, mime)
    )


def data_url(image: ImageData) -> str:
    """A data: URL for an image input."""
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"
