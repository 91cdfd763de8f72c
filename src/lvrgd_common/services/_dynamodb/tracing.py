"""OpenTelemetry spans, one per service operation, when ``opentelemetry-api`` is installed.

Attributes follow the semantic conventions for AWS DynamoDB (``db.system.name``,
``db.operation.name``, ``aws.dynamodb.*``), plus ``lvrgd_common.*`` for what the library
adds: the API calls an operation made, its requests, retries and item counts. Without the
API package `start_span` returns None and nothing else here runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from opentelemetry.trace import Span

try:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - exercised in a subprocess without the package
    trace = None  # type: ignore[assignment]

__all__ = ["finish_span", "note_request", "start_span"]

# Fields of an operation's record that become span attributes, and their names there.
_FIELD_ATTRIBUTES: Final = {
    "index": "aws.dynamodb.index_name",
    "limit": "aws.dynamodb.limit",
    "count": "aws.dynamodb.count",
    "items": "lvrgd_common.items",
    "keys": "lvrgd_common.keys",
    "operations": "lvrgd_common.operations",
    "found": "lvrgd_common.found",
    "failed": "lvrgd_common.failed",
    "operator": "lvrgd_common.sort_key_operator",
}
# Top-level request fields worth a span attribute.
_REQUEST_ATTRIBUTES: Final = {
    "ConsistentRead": "aws.dynamodb.consistent_read",
    "ScanIndexForward": "aws.dynamodb.scan_forward",
    "Select": "aws.dynamodb.select",
    "ProjectionExpression": "aws.dynamodb.projection",
    "Segment": "aws.dynamodb.segment",
    "TotalSegments": "aws.dynamodb.total_segments",
}

_tracer: Any = None if trace is None else trace.get_tracer("lvrgd_common")


def start_span(operation: str, table: str) -> Span | None:
    """A started client span for ``operation``; None without the API or a recording SDK."""
    if _tracer is None:
        return None
    span: Span = _tracer.start_span(f"{operation} {table}", kind=SpanKind.CLIENT)
    if not span.is_recording():
        span.end()
        return None
    span.set_attributes(
        {
            "db.system.name": "aws.dynamodb",
            "db.operation.name": operation,
            "db.collection.name": table,
            "aws.dynamodb.table_names": (table,),
            "rpc.system": "aws-api",
            "rpc.service": "DynamoDB",
        }
    )
    return span


def note_request(span: Span, api: str, request: dict[str, Any], calls: list[str]) -> None:
    """Record one API call of the operation and what its request asked for."""
    name = _api_name(api)
    if name not in calls:
        calls.append(name)
    for field, attribute in _REQUEST_ATTRIBUTES.items():
        value = request.get(field)
        if value is not None:
            span.set_attribute(attribute, value)
    if "IndexName" in request:
        span.set_attribute("aws.dynamodb.index_name", request["IndexName"])


def finish_span(
    span: Span,
    *,
    fields: dict[str, Any],
    calls: list[str],
    requests: int,
    retries: int,
    capacity: list[dict[str, Any]],
    error: BaseException | None,
) -> None:
    """Set what the operation did, record an error with its status, and end the span."""
    for field, attribute in _FIELD_ATTRIBUTES.items():
        value = fields.get(field)
        if isinstance(value, str | bool | int | float):
            span.set_attribute(attribute, value)
    if calls:
        span.set_attribute("lvrgd_common.api_calls", tuple(calls))
        if len(calls) == 1:
            span.set_attribute("rpc.method", calls[0])
    span.set_attribute("lvrgd_common.requests", requests)
    span.set_attribute("lvrgd_common.retries", retries)
    if capacity:
        entries = tuple(json.dumps(entry, sort_keys=True, default=str) for entry in capacity)
        span.set_attribute("aws.dynamodb.consumed_capacity", entries)
    if error is not None:
        code = getattr(error, "error_code", None)
        span.set_attribute("error.type", code or type(error).__qualname__)
        if code:
            span.set_attribute("aws.dynamodb.error_code", code)
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


def _api_name(api: str) -> str:
    """``batch_write_item`` -> ``BatchWriteItem`` (the names the API and its docs use)."""
    return "".join(part.capitalize() for part in api.split("_"))
