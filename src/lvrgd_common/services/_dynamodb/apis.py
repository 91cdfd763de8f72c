"""One row per DynamoDB API the service calls: the only list of them.

- ``method``: the aioboto3 client's method name, which the service sends by;
- ``wire``: DynamoDB's operation name (``X-Amz-Target: DynamoDB_20120810.<wire>``);
- ``lean``: served by the lean path (`lean.LeanTransport`); the others go to the client;
- ``capacity``: takes ``ReturnConsumedCapacity`` (added in one place, by the service);
- ``idempotent``: applying the request twice leaves the table as applying it once, so a
  retry after an attempt that may have been applied is safe. ``UpdateItem`` is not (an
  `Increment` counts twice); the service says so per call, for an update that holds no
  accumulating action. ``TransactWriteItems`` is, through its ``ClientRequestToken``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["APIS", "Api", "capacity_apis", "lean_targets"]


@dataclass(frozen=True, slots=True)
class Api:
    """One DynamoDB API (see the module's docstring for the fields)."""

    method: str
    wire: str
    lean: bool
    capacity: bool
    idempotent: bool


APIS: Final = {
    api.method: api
    for api in (
        Api("get_item", "GetItem", lean=True, capacity=True, idempotent=True),
        Api("put_item", "PutItem", lean=True, capacity=True, idempotent=True),
        Api("update_item", "UpdateItem", lean=True, capacity=True, idempotent=False),
        Api("delete_item", "DeleteItem", lean=True, capacity=True, idempotent=True),
        Api("query", "Query", lean=True, capacity=True, idempotent=True),
        Api("scan", "Scan", lean=True, capacity=True, idempotent=True),
        Api("batch_write_item", "BatchWriteItem", lean=True, capacity=True, idempotent=True),
        Api("batch_get_item", "BatchGetItem", lean=True, capacity=True, idempotent=True),
        Api(
            "transact_write_items", "TransactWriteItems", lean=True, capacity=True, idempotent=True
        ),
        Api("transact_get_items", "TransactGetItems", lean=True, capacity=True, idempotent=True),
        Api("describe_table", "DescribeTable", lean=False, capacity=False, idempotent=True),
        # The lease table of streams and locks, created on first use (a second create is
        # ResourceInUseException, which the lease code takes as "already there").
        Api("create_table", "CreateTable", lean=False, capacity=False, idempotent=True),
    )
}


def lean_targets() -> dict[str, str]:
    """The client method names the lean path serves -> DynamoDB's operation names."""
    return {api.method: api.wire for api in APIS.values() if api.lean}


def capacity_apis() -> frozenset[str]:
    """The client method names whose requests take ``ReturnConsumedCapacity``."""
    return frozenset(api.method for api in APIS.values() if api.capacity)
