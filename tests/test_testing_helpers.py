"""The development servers say why they cannot start."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from lvrgd_common.testing import LocalServer, free_port, moto_server


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
