"""Structured logging on the standard `logging` module."""

from __future__ import annotations

import logging
from typing import Any, Protocol

__all__ = ["LoggerProtocol", "LoggingService"]


class LoggerProtocol(Protocol):
    """What `DynamoDBService` needs of a logger: `LoggingService`, structlog, ...

    The first parameter is named ``event`` as in structlog, so structlog's typed loggers
    (``structlog.stdlib.BoundLogger``, ``FilteringBoundLogger``) satisfy it under mypy.
    """

    def debug(self, event: str, **fields: Any) -> object: ...  # noqa: ANN401, D102
    def info(self, event: str, **fields: Any) -> object: ...  # noqa: ANN401, D102
    def warning(self, event: str, **fields: Any) -> object: ...  # noqa: ANN401, D102
    def error(self, event: str, **fields: Any) -> object: ...  # noqa: ANN401, D102


class LoggingService:
    """``message key=value ...`` records on a standard logger.

    Never adds handlers or changes levels: the host application configures `logging`.
    The fields are also attached to each record as ``record.fields`` for structured
    handlers. A call whose level is disabled costs one level check.

    Examples:
        >>> log = LoggingService("my_app.db")
        >>> log.info("saved", table="users", elapsed_ms=1.2)
    """

    __slots__ = ("_logger",)

    def __init__(self, name: str | logging.Logger = "lvrgd_common") -> None:
        self._logger = name if isinstance(name, logging.Logger) else logging.getLogger(name)

    @property
    def logger(self) -> logging.Logger:
        """The standard logger records go to."""
        return self._logger

    def debug(self, event: str, **fields: Any) -> None:  # noqa: ANN401
        """Log at DEBUG."""
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:  # noqa: ANN401
        """Log at INFO."""
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:  # noqa: ANN401
        """Log at WARNING."""
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:  # noqa: ANN401
        """Log at ERROR."""
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, **fields: Any) -> None:  # noqa: ANN401
        """Log at ERROR with the exception being handled."""
        self._log(logging.ERROR, event, fields, exc_info=True)

    def _log(
        self, level: int, message: str, fields: dict[str, Any], *, exc_info: bool = False
    ) -> None:
        if not self._logger.isEnabledFor(level):
            return
        if fields:
            rendered = " ".join(f"{key}={value!r}" for key, value in fields.items())
            message = f"{message} {rendered}"
        self._logger.log(level, message, extra={"fields": fields}, exc_info=exc_info, stacklevel=3)
