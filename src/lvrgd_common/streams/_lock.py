"""`DynamoDBService.lock`: mutual exclusion between tasks, processes and machines.

A lock is a lease (`_leases`) keyed ``pk="lock#<name>"``, ``sk="lock"`` in the lease table.
Acquiring is a conditional write that succeeds when the lease is free or expired; a
background task renews it every ``lease_seconds / 3``; leaving the block releases it.

How the body learns of a lost lease (another holder took it after a renewal could not be
made in time): the task running the body is cancelled at its next ``await``, and the
``async with`` raises `DynamoDBLockError` in place of that cancellation. ``lease.lost`` is
set at the same moment, for code that polls (``lease.check()`` raises when lost) or awaits
it (``await lease.wait_lost()``).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import TYPE_CHECKING, Final

from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBLockError
from lvrgd_common.streams._leases import LeaseState, LeaseTable, Renewer

if TYPE_CHECKING:
    from types import TracebackType

    from lvrgd_common.streams._port import Port

__all__ = ["Lease", "LockContext"]

# Waiting for a held lock: look again this often (a fraction of the lease), with jitter.
_POLLS_PER_LEASE: Final = 4
_MIN_POLL: Final = 0.02


class Lease:
    """A held lock, as ``async with service.lock(...) as lease`` gives it.

    Attributes:
        name: The lock's name.
        owner: This acquisition's holder id (unique per acquisition).
        fencing_token: One more than the previous holder's: pass it along with every
            write the lock protects, and have the target refuse a token lower than the
            highest it has seen, so that a holder that lost the lock (paused, partitioned)
            cannot overwrite its successor's work.
    """

    __slots__ = ("_lost", "_state", "fencing_token", "name", "owner")

    def __init__(self, name: str, state: LeaseState) -> None:
        self.name = name
        self.owner = state.owner
        self.fencing_token = state.fencing_token
        self._state = state
        self._lost = asyncio.Event()

    def __repr__(self) -> str:
        state = "lost" if self.is_lost else "held"
        return f"Lease(name={self.name!r}, fencing_token={self.fencing_token}, {state})"

    @property
    def is_lost(self) -> bool:
        """True once the lease was lost (or released); the lock no longer protects anything."""
        return self._lost.is_set()

    @property
    def expires_at(self) -> float:
        """Epoch seconds until which the lease is held without another renewal."""
        return self._state.expires_at

    def check(self) -> None:
        """Raise `DynamoDBLockError` if the lease was lost; call it before a protected write."""
        if self.is_lost:
            raise DynamoDBLockError(name=self.name, reason="the lease was lost while held")

    async def wait_lost(self) -> None:
        """Return when the lease is lost (e.g. to stop work started in another task)."""
        await self._lost.wait()

    def _mark_lost(self) -> None:
        self._lost.set()


class LockContext:
    """The async context manager `DynamoDBService.lock` returns; see `Lease`.

    Attributes:
        cancel_on_loss: Cancel the body's task when the lease is lost (True, the
            default); set it False before entering to leave the body running, for a body
            that watches ``lease.is_lost`` itself. Either way the block raises
            `DynamoDBLockError` at its end.
    """

    def __init__(
        self,
        port: Port,
        name: str,
        *,
        lease_table: str,
        lease_seconds: float,
        wait: float | None,
        cancel_on_loss: bool = True,
    ) -> None:
        if not name:
            raise DynamoDBLockError(name=name, reason="a lock needs a non-empty name")
        if lease_seconds <= 0 or (wait is not None and wait < 0):
            reason = f"lease_seconds must be > 0 and wait >= 0 or None, got {lease_seconds}, {wait}"
            raise DynamoDBLockError(name=name, reason=reason)
        self._table = LeaseTable(port, lease_table)
        self._name = name
        self._lease_seconds = lease_seconds
        self._wait = wait
        self.cancel_on_loss = cancel_on_loss
        self._lease: Lease | None = None
        self._renewer: Renewer | None = None
        self._task: asyncio.Task[object] | None = None
        self._exiting = False
        self._cancelled_body = False

    async def __aenter__(self) -> Lease:
        if self._lease is not None:
            raise DynamoDBLockError(name=self._name, reason="this lock is already entered")
        await self._table.ensure()
        state = await self._acquire()
        lease = self._lease = Lease(self._name, state)
        self._task = asyncio.current_task()
        self._renewer = Renewer(self._table, self._lease_seconds, self._lost)
        self._renewer.hold(state)
        return lease

    async def _acquire(self) -> LeaseState:
        pk, sk = f"lock#{self._name}", "lock"
        owner = uuid.uuid4().hex
        deadline = None if self._wait is None else time.monotonic() + self._wait
        poll = self._lease_seconds / _POLLS_PER_LEASE
        while True:
            state = await self._table.acquire(pk, sk, owner, self._lease_seconds)
            if state is not None:
                return state
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                reason = f"held by another holder; not had within wait={self._wait:g} s"
                raise DynamoDBLockError(name=self._name, reason=reason)
            current = await self._table.read(pk, sk)
            expires_in = 0.0 if current is None else float(current.get("expires_at", 0.0))
            expires_in -= time.time()
            delay = max(_MIN_POLL, min(poll, expires_in)) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            await asyncio.sleep(delay if left is None else max(0.0, min(delay, left)))

    def _lost(self, _state: LeaseState) -> None:
        lease = self._lease
        if lease is None:
            return
        lease._mark_lost()  # noqa: SLF001 - the lock owns its lease
        if self.cancel_on_loss and not self._exiting and self._task is not None:
            self._cancelled_body = True
            self._task.cancel()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._exiting = True
        lease, renewer = self._lease, self._renewer
        if lease is None or renewer is None:
            return
        # Our own cancellation of the body is taken back first; one from outside stays.
        outside = False
        if self._cancelled_body and self._task is not None:
            outside = self._task.uncancel() > 0
        await renewer.stop()
        released = await self._table.release(lease._state)  # noqa: SLF001 - its own lease
        lease._mark_lost()  # noqa: SLF001 - released: no longer protects anything
        if outside:
            return  # cancelled from outside as well: let that cancellation through
        if self._cancelled_body or not released:
            if exc is not None and not isinstance(exc, asyncio.CancelledError):
                return  # the body's own error goes first
            raise DynamoDBLockError(
                name=self._name, reason="the lease was lost while held"
            ) from exc

    async def acquire(self) -> Lease:
        """Acquire without ``async with`` (pair with `release`)."""
        return await self.__aenter__()

    async def release(self) -> None:
        """Release a lock acquired with `acquire`."""
        await self.__aexit__(None, None, None)
