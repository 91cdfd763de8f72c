"""Local DynamoDB-compatible servers on loopback ports: moto (embedded) and dynalite."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from types import TracebackType

__all__ = ["LocalServer", "dynalite_server", "free_port", "moto_server"]

_LOOPBACK = "127.0.0.1"
# How much of a server's stderr an error quotes, from its end.
_STDERR_TAIL: Final = 4000


def free_port(host: str = _LOOPBACK) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalServer:
    """A server process on a loopback port, started and stopped by its owner."""

    def __init__(self, name: str, command: Sequence[str], host: str, port: int) -> None:
        self.name = name
        self.command = list(command)
        self.host = host
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """The URL to give `DynamoDBConfig.endpoint_url`."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> Self:
        """Start the process and wait until it answers HTTP.

        Raises:
            RuntimeError: The process exited or did not answer within ``timeout``; the
                message ends with what the process wrote to stderr.
        """
        # stderr goes to a file, not a pipe: a chatty server never blocks on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command of the project's own
            self.command, stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = f"{self.name} exited with code {self._process.returncode}"
                raise RuntimeError(self._with_stderr(msg))
            if self._answers():
                return self
            time.sleep(0.1)
        msg = f"{self.name} did not answer on {self.endpoint_url} within {timeout} s"
        msg = self._with_stderr(msg)
        self.stop()
        raise RuntimeError(msg)

    def _with_stderr(self, message: str) -> str:
        if self._stderr is None:
            return message
        self._stderr.seek(0, 2)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL))
        tail = self._stderr.read().decode(errors="replace").strip()
        self.stop()
        return f"{message}; its stderr:\n{tail}" if tail else f"{message} (no stderr)"

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.endpoint_url, timeout=1):  # noqa: S310 - loopback
                return True
        except urllib.error.HTTPError:
            return True  # any HTTP answer means it is serving
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Stop the process (terminate, then kill after 5 s). Stopping twice is harmless."""
        process, self._process = self._process, None
        stderr, self._stderr = self._stderr, None
        if stderr is not None:
            stderr.close()
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def moto_server(host: str = _LOOPBACK, port: int | None = None) -> LocalServer:
    """Moto's DynamoDB-compatible server (``moto[server]``) in a subprocess.

    Use it as a context manager, or call ``start()`` and ``stop()``. Moto comes with
    ``pip install 'lvrgd-common[testing]'``. Connections are served concurrently, but moto
    handles one request at a time (`lvrgd_common.testing._moto_server`): its backends are not
    thread-safe, and concurrent requests to a plain ``moto_server`` can lose writes.

    Raises:
        ModuleNotFoundError: moto's server is not installed (the message names the extra).
    """
    missing = [name for name in ("moto", "flask") if importlib.util.find_spec(name) is None]
    if missing:
        msg = (
            f"moto_server() needs moto's server ({', '.join(missing)} not installed): "
            "pip install 'lvrgd-common[testing]'"
        )
        raise ModuleNotFoundError(msg, name=missing[0])
    port = port or free_port(host)
    command = [
        sys.executable,
        "-m",
        "lvrgd_common.testing._moto_server",
        "-H",
        host,
        "-p",
        str(port),
    ]
    return LocalServer("moto server", command, host, port)


def dynalite_server(
    package_dir: str | os.PathLike[str], host: str = _LOOPBACK, port: int | None = None
) -> LocalServer:
    """Dynalite (npm), an independent, stricter DynamoDB implementation, in memory.

    ``package_dir`` is the folder whose ``node_modules`` holds dynalite (``npm ci`` there).

    Raises:
        FileNotFoundError: node or dynalite is not installed.
    """
    node = shutil.which("node")
    cli = Path(package_dir) / "node_modules" / "dynalite" / "cli.js"
    if node is None or not cli.is_file():
        msg = f"dynalite needs node and {cli} (run 'npm ci' in {package_dir})"
        raise FileNotFoundError(msg)
    port = port or free_port(host)
    command = [node, str(cli), "--host", host, "--port", str(port), "--createTableMs", "0"]
    command += ["--deleteTableMs", "0", "--updateTableMs", "0"]
    return LocalServer("dynalite", command, host, port)
