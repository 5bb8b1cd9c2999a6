"""A real HTTP server on loopback for tests that need a process edge (generators, TSAs, model stores)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Respond = Callable[[BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def serving(*, post: Respond | None = None, get: Respond | None = None) -> Iterator[str]:
    """Serve ``post``/``get`` on 127.0.0.1 in a thread; yields ``http://127.0.0.1:PORT``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if post is None:
                self.send_error(405)
            else:
                post(self)

        def do_GET(self) -> None:
            if get is None:
                self.send_error(405)
            else:
                get(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
