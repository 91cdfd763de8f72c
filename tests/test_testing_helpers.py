"""The development servers say why they cannot start."""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
import time
from typing import Any

import pytest

from lvrgd_common.testing import LocalServer, free_port, moto_server
from lvrgd_common.testing._moto_server import OneAtATime


def test_a_server_that_exits_shows_its_stderr() -> None:
    script = "import sys; sys.stderr.write('cannot bind: address in use'); sys.exit(3)"
    server = LocalServer("broken server", [sys.executable, "-c", script], "127.0.0.1", free_port())
    with pytest.raises(RuntimeError) as caught:
        server.start(timeout=60)
    assert "broken server exited with code 3" in str(caught.value)
    assert "cannot bind: address in use" in str(caught.value)


def test_moto_server_without_moto_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_moto(name: str, *args: Any) -> Any:
        return None if name == "moto" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_moto)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'lvrgd-common\[testing\]'"):
        moto_server()


def test_moto_handles_one_request_at_a_time_after_reading_its_body() -> None:
    """Threads serve connections; inside moto there is never more than one request."""
    inside, most, bodies = 0, 0, []
    entered = threading.Event()
    count_lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        nonlocal inside, most
        with count_lock:
            inside += 1
            most = max(most, inside)
        entered.set()
        time.sleep(0.01)  # long enough for the other threads to try to get in
        bodies.append(environ["wsgi.input"].read())
        with count_lock:
            inside -= 1
        start_response("200 OK", [])
        return [b"done"]

    served = OneAtATime(app)

    def request(n: int) -> None:
        body = f"request {n}".encode()
        environ = {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
        assert served(environ, lambda *_: None) == [b"done"]

    threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert entered.is_set()
    assert most == 1
    assert sorted(bodies) == sorted(f"request {n}".encode() for n in range(8))
