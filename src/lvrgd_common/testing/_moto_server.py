"""moto's server, one request at a time (``python -m lvrgd_common.testing._moto_server``).

moto's backends are not thread-safe, and its server answers each connection in a thread of
its own. Concurrent requests then do what DynamoDB never does: two batch writes to a new
partition can each create it, and the items of one are lost; of 100 concurrent atomic
increments of one item some are lost; a cancelled transaction restores a copy of the table
taken when it started, undoing writes that other requests committed meanwhile.

Here connections are still served concurrently, and each request body is read in its own
thread, but moto handles one request at a time: every write is atomic and every transaction
isolated, as in DynamoDB. Started by `lvrgd_common.testing.moto_server`; the options are
moto's own (``-H`` host, ``-p`` port).
"""

from __future__ import annotations

import argparse
import io
import os
import threading
from typing import TYPE_CHECKING, Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["OneAtATime", "main"]


class OneAtATime:
    """A WSGI application that lets one request at a time into ``app``.

    The body is read before the lock is taken, so a slow client holds up no one else; the
    answer is complete before it is released, so moto's work all happens under it.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """Serve one request."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length) if length else b"")
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return list(answer)
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


def main(argv: list[str] | None = None) -> None:
    """Serve moto on ``-H``/``-p`` until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    backend = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        OneAtATime(backend),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
