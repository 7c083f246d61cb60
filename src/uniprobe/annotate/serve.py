"""Serving the annotation app: a socket on loopback unless told otherwise, uvicorn, and
the desktop browser.

`listen` binds first (so a busy port or a refused host is a one-line error before
anything starts, and port 0 picks a free port); `make_server(app).run(sockets=[sock])`
serves until Ctrl-C.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import webbrowser
from typing import TYPE_CHECKING

from uniprobe.errors import UsageError

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "listen", "make_server", "open_browser", "url_of"]

DEFAULT_HOST = "127.0.0.1"
"""Where the pages are served unless told otherwise: this machine only."""
DEFAULT_PORT = 8765
"""The default port."""


def listen(
    host: str = "127.0.0.1", port: int = 8765, *, allow_remote: bool = False
) -> socket.socket:
    """A bound, listening socket for the server. A host that is not a loopback address is
    refused unless `allow_remote` (the pages show the run to whoever can reach them)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"cannot resolve host '{host}': {exc}") from None
    family, _, proto, _, address = infos[0]
    if not ipaddress.ip_address(address[0]).is_loopback and not allow_remote:
        raise UsageError(
            f"refusing to serve on {host}: not a loopback address; pass --allow-remote to let "
            "other machines reach the annotation pages"
        )
    # a TCP socket that says so: asyncio turns Nagle's algorithm off only then, and with it
    # on each reply (head and body written apart) waits ~40 ms for the client's delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, proto or socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}; try another --port"
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The page's address for a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(app: ASGIApp) -> uvicorn.Server:
    """A quiet uvicorn server for the app; run it with `server.run(sockets=[listen(...)])`."""
    import uvicorn  # here, not at the top: `import uniprobe` stays fast without it

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws="none")
    return uvicorn.Server(config)


def open_browser(url: str) -> bool:
    """Open the page in a desktop browser if there is a desktop; never a text browser in
    this terminal. Returns whether one was asked to open it."""
    desktop = sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    return desktop and webbrowser.open(url)
