"""The span an operation ends with: what mutmut showed unchecked (issue 27).

A tracer provider of the test's own (not the global one the integration tests set), so
the spans are read back from its in-memory exporter.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lvrgd_common.services._dynamodb.tracing import finish_span


def finished(**options: Any) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("test").start_span("op")
    defaults: dict[str, Any] = {
        "fields": {},
        "calls": ["GetItem"],
        "requests": 1,
        "retries": 0,
        "capacity": [],
        "error": None,
    }
    finish_span(span, **(defaults | options))
    (done,) = exporter.get_finished_spans()
    return done


def capacity_of(span: ReadableSpan) -> tuple[str, ...]:
    value = (span.attributes or {})["aws.dynamodb.consumed_capacity"]
    assert isinstance(value, tuple)
    assert all(isinstance(text, str) for text in value)
    return value


def test_consumed_capacity_is_json_with_sorted_keys() -> None:
    entry = {"TableName": "t", "CapacityUnits": 1.5, "GlobalSecondaryIndexes": {"g": {"R": 1}}}
    span = finished(capacity=[entry])
    (text,) = capacity_of(span)
    assert text == json.dumps(entry, sort_keys=True)
    assert list(json.loads(text)) == ["CapacityUnits", "GlobalSecondaryIndexes", "TableName"]


def test_a_capacity_value_json_cannot_hold_is_written_as_text() -> None:
    span = finished(capacity=[{"CapacityUnits": Decimal("2.5")}])
    (text,) = capacity_of(span)
    assert json.loads(text) == {"CapacityUnits": "2.5"}


def test_an_error_without_an_aws_code_is_recorded_by_its_type() -> None:
    span = finished(error=RuntimeError("the loop went away"))
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "RuntimeError"
    assert "aws.dynamodb.error_code" not in attributes
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "RuntimeError: the loop went away"


def test_an_error_with_an_aws_code_is_recorded_by_that_code() -> None:
    class RefusedError(Exception):
        error_code = "ConditionalCheckFailedException"

    attributes = dict(finished(error=RefusedError("no")).attributes or {})
    assert attributes["error.type"] == "ConditionalCheckFailedException"
    assert attributes["aws.dynamodb.error_code"] == "ConditionalCheckFailedException"
