"""What a service needs to close with work in flight: running operations and their requests.

Every request runs in an `asyncio.timeout` scope that ends at its operation's deadline.
Closing refuses new operations, waits (up to a bound) for the running ones to end, then
expires the scopes of requests still in flight, so that their callers get an error (never
a `CancelledError` they did not ask for) and no request outlives the HTTP session.
"""

from __future__ import annotations

import asyncio
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Gate"]


class Gate:
    """Counts the operations running and the requests in flight, and drains them."""

    __slots__ = ("_idle", "_quiet", "_running", "_scopes", "closing")

    def __init__(self) -> None:
        self.closing = False
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._scopes: set[asyncio.Timeout] = set()
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def running(self) -> int:
        """How many operations have started and not yet ended."""
        return self._running

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Count one operation while the block runs."""
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    def track(self, scope: asyncio.Timeout) -> None:
        """Register the (entered) time scope of a request now in flight."""
        self._scopes.add(scope)
        self._quiet.clear()

    def untrack(self, scope: asyncio.Timeout) -> None:
        """The request of ``scope`` has ended."""
        self._scopes.discard(scope)
        if not self._scopes:
            self._quiet.set()

    async def wait_idle(self, seconds: float) -> None:
        """Refuse new operations from now on; wait up to ``seconds`` for the running ones."""
        self.closing = True
        if self._running:
            with suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._idle.wait()

    async def end_requests(self) -> None:
        """Expire every request still in flight and wait until each has unwound.

        A request must not outlive the HTTP session (aiobotocore would open a new one that
        nobody closes), so this waits for all of them; each also ends by itself within
        botocore's own timeouts and attempts, should its cancellation be swallowed.
        """
        now = asyncio.get_running_loop().time()
        for scope in list(self._scopes):
            when = scope.when()
            if when is None or when > now:
                scope.reschedule(now)
        await self._quiet.wait()
