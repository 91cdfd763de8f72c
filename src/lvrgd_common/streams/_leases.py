"""Leases in a DynamoDB table: the one mechanism behind `lock` and the stream workers.

A lease is an item keyed ``pk``/``sk`` (strings) in the lease table:

- ``owner``: who holds it, absent when free;
- ``token``: a random value per acquisition, so that a holder's renewals, checkpoints and
  release are conditional on still being that acquisition;
- ``expires_at``: epoch seconds (N) until which the holder may act; a lease past it may be
  taken by anyone, so the clocks of the holders must agree to well within a lease;
- ``fence``: the fencing token, one more for each new acquisition, never reset;
- ``checkpoint`` / ``finished``: for stream shards, the last sequence number done and
  whether the shard was read to its end.

Every write is one conditional UpdateItem through the service's door, logged as the
service's operations are.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBConditionalCheckError,
    DynamoDBServiceError,
    DynamoDBTableNotFoundError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from lvrgd_common.streams._port import Port

__all__ = ["LeaseState", "LeaseTable", "Renewer"]

# A renewal is attempted this many times per lease (every lease_seconds / 3).
RENEWALS_PER_LEASE: Final = 3
TABLE_ACTIVE_WITHIN: Final = 60.0
_NAMES: Final = {
    "#owner": "owner",
    "#token": "token",
    "#expires": "expires_at",
    "#fence": "fence",
    "#checkpoint": "checkpoint",
    "#finished": "finished",
}


@dataclass(slots=True)
class LeaseState:
    """One acquisition of a lease, as its holder knows it."""

    pk: str
    sk: str
    owner: str
    token: str
    fencing_token: int
    expires_at: float
    lease_seconds: float
    checkpoint: str | None = None
    finished: bool = False
    lost: bool = False
    written: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while this lease is written, so a renewal never races a release."""


class LeaseTable:
    """The leases of one lease table, created on first use when absent."""

    def __init__(self, port: Port, name: str) -> None:
        self._port = port
        self.name = name

    async def ensure(self) -> None:
        """Create the table (``pk``/``sk`` strings, on-demand) unless it exists; wait ACTIVE."""
        if self.name in self._port.ready_tables:
            return
        status = await self._status()
        if status is None:
            with self._port.operation("create_lease_table", lease_table=self.name) as op:
                request = {
                    "TableName": self.name,
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                }
                try:
                    await self._port.send(op, "create_table", request)
                except DynamoDBServiceError as exc:
                    if exc.error_code != "ResourceInUseException":  # created meanwhile
                        raise
        deadline = time.monotonic() + TABLE_ACTIVE_WITHIN
        while status != "ACTIVE" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            status = await self._status()
        self._port.ready_tables.add(self.name)

    async def _status(self) -> str | None:
        with self._port.operation("describe_lease_table", lease_table=self.name) as op:
            try:
                response = await self._port.send(op, "describe_table", {"TableName": self.name})
            except DynamoDBTableNotFoundError:
                op.fields["found"] = False
                return None
            status: str = response["Table"].get("TableStatus", "ACTIVE")
            return status

    async def acquire(
        self, pk: str, sk: str, owner: str, lease_seconds: float
    ) -> LeaseState | None:
        """Take the lease if free, expired or already ``owner``'s; None when another holds it."""
        token = uuid.uuid4().hex
        now = time.time()
        request = self._update(
            pk,
            sk,
            "SET #owner = :owner, #token = :token, #expires = :expires ADD #fence :one",
            "attribute_not_exists(#owner) OR #expires < :now OR #owner = :owner",
            {
                ":owner": {"S": owner},
                ":token": {"S": token},
                ":expires": {"N": repr(now + lease_seconds)},
                ":now": {"N": repr(now)},
                ":one": {"N": "1"},
            },
        )
        request["ReturnValues"] = "ALL_NEW"
        with self._port.operation("acquire_lease", pk, sk, lease_table=self.name) as op:
            try:
                response = await self._port.send(op, "update_item", request)
            except DynamoDBConditionalCheckError:
                op.fields["acquired"] = False
                return None
            op.fields["acquired"] = True
        item = response.get("Attributes", {})
        return LeaseState(
            pk=pk,
            sk=sk,
            owner=owner,
            token=token,
            fencing_token=int(item["fence"]["N"]),
            expires_at=now + lease_seconds,
            lease_seconds=lease_seconds,
            checkpoint=item.get("checkpoint", {}).get("S"),
            finished=bool(item.get("finished", {}).get("BOOL", False)),
        )

    async def renew(self, lease: LeaseState, checkpoint: str | None = None) -> bool:
        """Extend the lease (and store ``checkpoint``); False when it is no longer held."""
        async with lease.written:
            if lease.lost:
                return False
            started = time.time()
            expires = started + lease.lease_seconds
            action = "SET #expires = :expires"
            values: dict[str, Any] = {":expires": {"N": repr(expires)}}
            if checkpoint is not None:
                action += ", #checkpoint = :checkpoint"
                values[":checkpoint"] = {"S": checkpoint}
            held = await self._held_write(lease, "renew_lease", action, values)
            if held:
                lease.expires_at = expires
                if checkpoint is not None:
                    lease.checkpoint = checkpoint
            return held

    async def release(
        self, lease: LeaseState, checkpoint: str | None = None, *, finished: bool = False
    ) -> bool:
        """Free the lease (storing ``checkpoint`` and ``finished``); False when already lost."""
        async with lease.written:
            if lease.lost:
                return False
            action = "SET #expires = :expires"
            values: dict[str, Any] = {":expires": {"N": "0"}}
            if checkpoint is not None:
                action += ", #checkpoint = :checkpoint"
                values[":checkpoint"] = {"S": checkpoint}
            if finished:
                action += ", #finished = :finished"
                values[":finished"] = {"BOOL": True}
            action += " REMOVE #owner, #token"
            held = await self._held_write(lease, "release_lease", action, values)
            lease.lost = True  # released: nothing more may be written under it
            return held

    async def _held_write(
        self, lease: LeaseState, name: str, action: str, values: dict[str, Any]
    ) -> bool:
        values = {**values, ":owner": {"S": lease.owner}, ":token": {"S": lease.token}}
        request = self._update(
            lease.pk, lease.sk, action, "#owner = :owner AND #token = :token", values
        )
        with self._port.operation(name, lease.pk, lease.sk, lease_table=self.name) as op:
            try:
                await self._port.send(op, "update_item", request)
            except DynamoDBConditionalCheckError:
                lease.lost = True
                op.fields["held"] = False
                return False
            op.fields["held"] = True
            return True

    async def read(self, pk: str, sk: str) -> dict[str, Any] | None:
        """The lease item as plain values (strongly consistent), or None when absent."""
        request = {
            "TableName": self.name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "ConsistentRead": True,
        }
        with self._port.operation("read_lease", pk, sk, lease_table=self.name) as op:
            item = (await self._port.send(op, "get_item", request)).get("Item")
        return None if item is None else _plain(item)

    async def query(self, pk: str) -> list[dict[str, Any]]:
        """Every lease item under ``pk`` as plain values (strongly consistent)."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        with self._port.operation("read_leases", pk, lease_table=self.name) as op:
            while True:
                response = await self._port.send(op, "query", request)
                items.extend(_plain(item) for item in response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return items
                request = {**request, "ExclusiveStartKey": last}

    def _update(
        self, pk: str, sk: str, action: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        expression = f"{action} {condition}"
        names = {name: stored for name, stored in _NAMES.items() if name in expression}
        return {
            "TableName": self.name,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": action,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, value in item.items():
        ((tag, raw),) = value.items()
        plain[name] = float(raw) if tag == "N" else raw
    return plain


def is_live(item: dict[str, Any], now: float | None = None) -> bool:
    """Whether a lease item read back is held by someone whose lease has not expired."""
    moment = time.time() if now is None else now
    return "owner" in item and float(item.get("expires_at", 0.0)) >= moment


class Renewer:
    """Renews leases in a background task every ``lease_seconds / 3``.

    ``checkpoint_of(lease)`` gives what to store with each renewal (None: nothing new);
    ``on_lost(lease)`` is called once for a lease another holder took, or that could not
    be renewed before it expired.
    """

    def __init__(
        self,
        table: LeaseTable,
        lease_seconds: float,
        on_lost: Callable[[LeaseState], None],
        checkpoint_of: Callable[[LeaseState], str | None] = lambda _lease: None,
    ) -> None:
        self._table = table
        self._interval = lease_seconds / RENEWALS_PER_LEASE
        self._on_lost = on_lost
        self._checkpoint_of = checkpoint_of
        self.leases: dict[tuple[str, str], LeaseState] = {}
        self._task: asyncio.Task[None] | None = None

    def hold(self, lease: LeaseState) -> None:
        """Keep ``lease`` renewed from now on (starting the task on first use)."""
        self.leases[lease.pk, lease.sk] = lease
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def drop(self, lease: LeaseState) -> None:
        """Stop renewing ``lease``."""
        self.leases.pop((lease.pk, lease.sk), None)

    async def renew_now(self, lease: LeaseState) -> bool:
        """Renew one lease at once, with its checkpoint; False (and ``on_lost``) when lost."""
        try:
            held = await self._table.renew(lease, self._checkpoint_of(lease))
        except DynamoDBServiceError:
            held = not self._expired(lease)
        if not held:
            self._lose(lease)
        return held

    async def stop(self) -> None:
        """End the background task (leases are not released here)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            for lease in list(self.leases.values()):
                await self.renew_now(lease)

    def _expired(self, lease: LeaseState) -> bool:
        # Renewal failed (DynamoDB unavailable): the lease is lost once it may have expired.
        return time.time() >= lease.expires_at - self._interval / 2

    def _lose(self, lease: LeaseState) -> None:
        if (lease.pk, lease.sk) in self.leases:
            self.drop(lease)
            lease.lost = True
            self._on_lost(lease)
