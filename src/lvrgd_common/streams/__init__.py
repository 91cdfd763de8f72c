"""Change streams and locks for workers.

- `decode_lambda_event`: a DynamoDB Streams event, as AWS Lambda delivers it, as a list
  of `ChangeEvent` decoded through the library's codec; `batch_item_failures` builds the
  partial batch response.
- `DynamoDBService.changes`: the stream of a table for long-running workers, shared
  between workers and checkpointed in a lease table.
- `DynamoDBService.lock`: a lease lock with a fencing token (`Lease`).
"""

from lvrgd_common.streams._consumer import StartPosition
from lvrgd_common.streams._events import (
    ChangeEvent,
    EventName,
    batch_item_failures,
    decode_lambda_event,
)
from lvrgd_common.streams._lock import Lease, LockContext

__all__ = [
    "ChangeEvent",
    "EventName",
    "Lease",
    "LockContext",
    "StartPosition",
    "batch_item_failures",
    "decode_lambda_event",
]
