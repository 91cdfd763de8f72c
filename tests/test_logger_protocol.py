"""Loggers that `DynamoDBService` accepts: checked by mypy (the annotations) and at run time."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import structlog
from structlog.testing import LogCapture, capture_logs

from lvrgd_common import LoggerProtocol, LoggingService

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pytest
    from structlog.types import FilteringBoundLogger


def log_like_the_service(logger: LoggerProtocol) -> None:
    logger.info("dynamodb operation", operation="save", elapsed_ms=1.5)
    logger.warning("dynamodb request retried", retries=2)


def events(captured: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, Any]]:
    return [(entry["event"], entry["log_level"], entry.get("retries")) for entry in captured]


EXPECTED = [("dynamodb operation", "info", None), ("dynamodb request retried", "warning", 2)]


def test_a_typed_structlog_stdlib_logger_satisfies_the_protocol() -> None:
    with capture_logs() as captured:
        log_like_the_service(structlog.stdlib.get_logger("orders"))
    assert events(captured) == EXPECTED


def test_a_structlog_filtering_bound_logger_satisfies_the_protocol() -> None:
    capture = LogCapture()
    logger: FilteringBoundLogger = structlog.wrap_logger(
        structlog.PrintLogger(),
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    log_like_the_service(logger)
    assert events(capture.entries) == EXPECTED


def test_logging_service_records_carry_the_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lvrgd_common.unit.protocol")
    log_like_the_service(LoggingService("lvrgd_common.unit.protocol"))
    info, warning = caplog.records
    assert info.getMessage() == "dynamodb operation operation='save' elapsed_ms=1.5"
    assert info.fields == {"operation": "save", "elapsed_ms": 1.5}  # type: ignore[attr-defined]
    assert (warning.levelno, warning.fields) == (logging.WARNING, {"retries": 2})  # type: ignore[attr-defined]
