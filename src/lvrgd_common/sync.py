"""A blocking facade over `DynamoDBService`, for scripts, notebooks, Django or Flask code.

Every method of the async service is here as a plain call with the same arguments. The
facade owns one private event loop on a background thread; the async service lives on that
loop and every call is handed to it, so one facade can be shared by many threads.

Examples:
    >>> from lvrgd_common.sync import DynamoDBService
    >>> with DynamoDBService(LoggingService(), config) as service:
    ...     service.save(User(pk="USER#1", sk="PROFILE", name="Ada"))
    ...     user = service.get_one("USER#1", "PROFILE", User)
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from lvrgd_common.exceptions.dynamodb_exceptions import DynamoDBServiceError
from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel, KeyValue
from lvrgd_common.services.dynamodb_service import DynamoDBService as AsyncDynamoDBService

if TYPE_CHECKING:
    from collections.abc import (
        AsyncIterator,
        Callable,
        Coroutine,
        Iterator,
        Mapping,
        Sequence,
    )
    from concurrent.futures import Future
    from types import TracebackType

    from boto3.dynamodb.conditions import ConditionBase
    from pydantic import TypeAdapter

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.models.pagination_result import PaginationResult
    from lvrgd_common.models.sort_key_condition import SortKeyCondition
    from lvrgd_common.models.transaction_write_item import TransactionWriteItem
    from lvrgd_common.services._dynamodb.expressions import Conditions
    from lvrgd_common.services.logging_service import LoggerProtocol
    from lvrgd_common.streams import ChangeEvent, Lease, StartPosition

__all__ = ["DynamoDBService"]

T = TypeVar("T", bound=DynamoDBBaseModel)
M = TypeVar("M", bound=DynamoDBBaseModel)
R = TypeVar("R")


class DynamoDBService:
    """`lvrgd_common.DynamoDBService` as plain calls, for code that cannot ``await``.

    ``with`` (or `open`) starts a private event loop on a daemon thread and opens the async
    service on it; leaving (or `close`) closes the service, stops the loop and joins the
    thread. Calls may come from any number of threads at once. Calling from a thread that
    runs an event loop raises `DynamoDBServiceError`: there, await the async service.

    Examples:
        >>> with DynamoDBService(LoggingService(), config) as service:
        ...     for order in service.iter_query("USER#1", Order, page_size=100):
        ...         print(order.sk)
    """

    def __init__(self, logger: LoggerProtocol, config: DynamoDBConfig) -> None:
        self._service = AsyncDynamoDBService(logger, config)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"sync.{self._service!r}"

    @property
    def config(self) -> DynamoDBConfig:
        """The configuration this service was built with."""
        return self._service.config

    # --- lifecycle ------------------------------------------------------------------------

    def open(self) -> Self:
        """Start the private loop and open the async service on it; sends no request.

        Raises:
            DynamoDBServiceError: The service was closed, or called inside an event loop.
        """
        _refuse_running_loop("open")
        with self._lock:
            if self._closed:
                raise DynamoDBServiceError(
                    operation="open", reason="the service is closed; create a new one"
                )
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="lvrgd-common-sync", daemon=True
                )
                thread.start()
                try:
                    asyncio.run_coroutine_threadsafe(self._service.open(), loop).result()
                except BaseException:
                    _stop(loop, thread)
                    raise
                self._loop, self._thread = loop, thread
        return self

    def close(self) -> None:
        """Close the async service, stop the loop and join its thread. Twice is harmless."""
        _refuse_running_loop("close")
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
            self._closed = True
            if loop is None or thread is None:
                return  # never opened, or closed already
            try:
                asyncio.run_coroutine_threadsafe(self._service.close(), loop).result()
            finally:
                _stop(loop, thread)

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- single items ---------------------------------------------------------------------

    def save(self, item: M, *, conditions: Conditions = ()) -> M:
        """Put the whole item and return it as saved; see `lvrgd_common.DynamoDBService.save`."""
        return self._call("save", self._service.save(item, conditions=conditions))

    @overload
    def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: type[T] | TypeAdapter[T],
        *,
        consistent_read: bool = False,
    ) -> T | None: ...
    @overload
    def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> Any: ...  # noqa: ANN401 - a member of the union given as model_class

    def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> Any:
        """The item or None; see `lvrgd_common.DynamoDBService.get_one`."""
        coro = self._service.get_one(pk, sk, model_class, consistent_read=consistent_read)
        return self._call("get_one", coro)

    def delete(self, pk: KeyValue, sk: KeyValue | None, *, conditions: Conditions = ()) -> None:
        """Delete the item; see `lvrgd_common.DynamoDBService.delete`."""
        return self._call("delete", self._service.delete(pk, sk, conditions=conditions))

    @overload
    def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: None = None,
    ) -> None: ...

    @overload
    def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: type[T],
    ) -> T: ...

    @overload
    def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: object,
    ) -> Any: ...  # noqa: ANN401 - a union of model classes: one of its members

    def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: object = None,
    ) -> Any:
        """Change attributes of an existing item; see `lvrgd_common.DynamoDBService.update`."""
        if model_class is None:
            return self._call(
                "update", self._service.update(pk, sk, updates, conditions=conditions)
            )
        coro = self._service.update(pk, sk, updates, conditions=conditions, model_class=model_class)
        return self._call("update", coro)

    # --- queries --------------------------------------------------------------------------

    @overload
    def query_by_pk(
        self,
        pk: KeyValue,
        model_class: type[T] | TypeAdapter[T],
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[T]: ...
    @overload
    def query_by_pk(
        self,
        pk: KeyValue,
        model_class: object,
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[Any]: ...

    def query_by_pk(  # noqa: PLR0913 - the contract's arguments and options
        self,
        pk: KeyValue,
        model_class: object,
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[Any]:
        """One page of a partition; see `lvrgd_common.DynamoDBService.query_by_pk`."""
        coro = self._service.query_by_pk(
            pk,
            model_class,
            limit,
            last_evaluated_key,
            index_name,
            scan_forward=scan_forward,
            consistent_read=consistent_read,
            filter_condition=filter_condition,
            cursor=cursor,
        )
        return self._call("query_by_pk", coro)

    @overload
    def query_by_pk_and_sk(
        self,
        pk: KeyValue,
        sk_condition: SortKeyCondition,
        model_class: type[T] | TypeAdapter[T],
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[T]: ...
    @overload
    def query_by_pk_and_sk(
        self,
        pk: KeyValue,
        sk_condition: SortKeyCondition,
        model_class: object,
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[Any]: ...

    def query_by_pk_and_sk(  # noqa: PLR0913 - the contract's arguments and options
        self,
        pk: KeyValue,
        sk_condition: SortKeyCondition,
        model_class: object,
        limit: int | None = None,
        last_evaluated_key: dict[str, Any] | None = None,
        index_name: str | None = None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
        cursor: str | None = None,
    ) -> PaginationResult[Any]:
        """One page under a sort-key condition; see the async `query_by_pk_and_sk`."""
        coro = self._service.query_by_pk_and_sk(
            pk,
            sk_condition,
            model_class,
            limit,
            last_evaluated_key,
            index_name,
            scan_forward=scan_forward,
            consistent_read=consistent_read,
            filter_condition=filter_condition,
            cursor=cursor,
        )
        return self._call("query_by_pk_and_sk", coro)

    @overload
    def iter_query(
        self,
        pk: KeyValue,
        model_class: type[T] | TypeAdapter[T],
        sk_condition: SortKeyCondition | None = None,
        *,
        index_name: str | None = None,
        page_size: int | None = None,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
    ) -> Iterator[T]: ...
    @overload
    def iter_query(
        self,
        pk: KeyValue,
        model_class: object,
        sk_condition: SortKeyCondition | None = None,
        *,
        index_name: str | None = None,
        page_size: int | None = None,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
    ) -> Iterator[Any]: ...

    def iter_query(
        self,
        pk: KeyValue,
        model_class: object,
        sk_condition: SortKeyCondition | None = None,
        *,
        index_name: str | None = None,
        page_size: int | None = None,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: ConditionBase | None = None,
    ) -> Iterator[Any]:
        """A plain iterator over every matching item, fetching pages as it goes.

        Pages are fetched on the private loop while the caller's thread consumes items;
        leaving the loop early closes the query.
        """
        items = self._service.iter_query(
            pk,
            model_class,
            sk_condition,
            index_name=index_name,
            page_size=page_size,
            scan_forward=scan_forward,
            consistent_read=consistent_read,
            filter_condition=filter_condition,
        )
        return self._iterate("iter_query", items)

    @overload
    def scan(
        self,
        model_class: type[T] | TypeAdapter[T],
        *,
        filter_condition: ConditionBase | None = None,
        index_name: str | None = None,
        segments: int = 1,
        page_size: int | None = None,
        segment: int | None = None,
        total_segments: int | None = None,
        consistent_read: bool = False,
    ) -> Iterator[T]: ...
    @overload
    def scan(
        self,
        model_class: object,
        *,
        filter_condition: ConditionBase | None = None,
        index_name: str | None = None,
        segments: int = 1,
        page_size: int | None = None,
        segment: int | None = None,
        total_segments: int | None = None,
        consistent_read: bool = False,
    ) -> Iterator[Any]: ...

    def scan(
        self,
        model_class: object,
        *,
        filter_condition: ConditionBase | None = None,
        index_name: str | None = None,
        segments: int = 1,
        page_size: int | None = None,
        segment: int | None = None,
        total_segments: int | None = None,
        consistent_read: bool = False,
    ) -> Iterator[Any]:
        """A plain iterator over every item of the table; see the async `scan`.

        Leaving the loop early stops every segment.
        """
        items = self._service.scan(
            model_class,
            filter_condition=filter_condition,
            index_name=index_name,
            segments=segments,
            page_size=page_size,
            segment=segment,
            total_segments=total_segments,
            consistent_read=consistent_read,
        )
        return self._iterate("scan", items)

    def count(
        self,
        pk: KeyValue,
        sk_condition: SortKeyCondition | None = None,
        index_name: str | None = None,
        *,
        filter_condition: ConditionBase | None = None,
    ) -> int:
        """How many items match; see `lvrgd_common.DynamoDBService.count`.

        Raises:
            DynamoDBValidationError: Unknown index, a bad sort-key condition or filter.
            DynamoDBTableNotFoundError: The table (or index) does not exist.
            DynamoDBUnavailableError: DynamoDB unreachable or throttling after the retries.
        """
        coro = self._service.count(pk, sk_condition, index_name, filter_condition=filter_condition)
        return self._call("count", coro)

    # --- batches --------------------------------------------------------------------------

    def batch_write(
        self,
        items: Sequence[DynamoDBBaseModel],
        *,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        """Put any number of items; see `lvrgd_common.DynamoDBService.batch_write`.

        ``on_progress`` is called on the facade's loop thread.
        """
        coro = self._service.batch_write(items, on_progress=on_progress)
        return self._call("batch_write", coro)

    def batch_delete(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        *,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        """Delete any number of keys; see `lvrgd_common.DynamoDBService.batch_delete`."""
        coro = self._service.batch_delete(keys, on_progress=on_progress)
        return self._call("batch_delete", coro)

    @overload
    def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: type[T] | TypeAdapter[T],
        *,
        consistent_read: bool = False,
    ) -> list[T]: ...
    @overload
    def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> list[Any]: ...

    def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> list[Any]:
        """Items for any number of keys; see `lvrgd_common.DynamoDBService.batch_get`."""
        coro = self._service.batch_get(keys, model_class, consistent_read=consistent_read)
        return self._call("batch_get", coro)

    # --- transactions ---------------------------------------------------------------------

    def transact_write(
        self,
        operations: Sequence[TransactionWriteItem],
        *,
        client_request_token: str | None = None,
    ) -> None:
        """All or nothing; see `lvrgd_common.DynamoDBService.transact_write`."""
        coro = self._service.transact_write(operations, client_request_token=client_request_token)
        return self._call("transact_write", coro)

    @overload
    def transact_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: type[T] | TypeAdapter[T],
    ) -> list[T]: ...
    @overload
    def transact_get(
        self, keys: Sequence[tuple[KeyValue, KeyValue | None]], model_class: object
    ) -> list[Any]: ...

    def transact_get(
        self, keys: Sequence[tuple[KeyValue, KeyValue | None]], model_class: object
    ) -> list[Any]:
        """Items read atomically; see `lvrgd_common.DynamoDBService.transact_get`."""
        return self._call("transact_get", self._service.transact_get(keys, model_class))

    # --- health ---------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the table exists and is ACTIVE; see the async `ping`."""
        return self._call("ping", self._service.ping())

    # --- change streams and locks ---------------------------------------------------------

    @overload
    def changes(
        self,
        model_class: type[T],
        *,
        lease_table: str,
        worker_id: str | None = None,
        start: StartPosition = "trim_horizon",
        lease_seconds: float = 10.0,
        poll_interval: float = 1.0,
    ) -> Iterator[ChangeEvent[T]]: ...
    @overload
    def changes(
        self,
        model_class: object,
        *,
        lease_table: str,
        worker_id: str | None = None,
        start: StartPosition = "trim_horizon",
        lease_seconds: float = 10.0,
        poll_interval: float = 1.0,
    ) -> Iterator[ChangeEvent[Any]]: ...

    def changes(
        self,
        model_class: object,
        *,
        lease_table: str,
        worker_id: str | None = None,
        start: StartPosition = "trim_horizon",
        lease_seconds: float = 10.0,
        poll_interval: float = 1.0,
    ) -> Iterator[ChangeEvent[Any]]:
        """A plain iterator over the table's changes; see the async `changes`.

        Leaving the loop early hands the leases back and writes the checkpoints.
        """
        events = self._service.changes(
            model_class,
            lease_table=lease_table,
            worker_id=worker_id,
            start=start,
            lease_seconds=lease_seconds,
            poll_interval=poll_interval,
        )
        return self._iterate("changes", events)

    @contextmanager
    def lock(
        self,
        name: str,
        *,
        lease_table: str,
        lease_seconds: float = 10.0,
        wait: float | None = None,
    ) -> Iterator[Lease]:
        """``with service.lock(...) as lease:``; see the async `lock`.

        The body runs in the calling thread and is not interrupted when the lease is lost:
        check ``lease.is_lost`` or call ``lease.check()`` before protected writes. Leaving
        the block raises `DynamoDBLockError` if the lease was lost meanwhile.
        """
        context = self._service.lock(
            name,
            lease_table=lease_table,
            lease_seconds=lease_seconds,
            wait=wait,
        )
        context.cancel_on_loss = False  # the body runs in the caller's thread
        lease = self._call("lock", context.__aenter__())
        try:
            yield lease
        except BaseException as exc:
            self._call("lock", context.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        self._call("lock", context.__aexit__(None, None, None))

    # --- handing calls to the private loop ------------------------------------------------

    def _loop_for(self, operation: str) -> asyncio.AbstractEventLoop:
        _refuse_running_loop(operation)
        loop = self._loop
        if loop is None:
            raise DynamoDBServiceError(
                operation=operation,
                reason="the service is not open; use 'with service:' or 'service.open()'",
            )
        return loop

    def _call(self, operation: str, coro: Coroutine[Any, Any, R]) -> R:
        try:
            loop = self._loop_for(operation)
        except DynamoDBServiceError:
            coro.close()  # never awaited: say so quietly instead of a RuntimeWarning
            raise
        return _wait(asyncio.run_coroutine_threadsafe(coro, loop))

    def _iterate(self, operation: str, items: AsyncIterator[R]) -> Iterator[R]:
        loop = self._loop_for(operation)

        async def step() -> R:
            return await anext(items)

        def generate() -> Iterator[R]:
            try:
                while True:
                    try:
                        yield _wait(asyncio.run_coroutine_threadsafe(step(), loop))
                    except StopAsyncIteration:
                        return
            finally:
                # Left early (break, an exception, garbage collection): end the query on its
                # loop so its log record is written; a loop already stopped has nothing to do.
                close = getattr(items, "aclose", None)
                if close is not None and loop.is_running():
                    _wait(asyncio.run_coroutine_threadsafe(close(), loop))

        return generate()


def _refuse_running_loop(operation: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise DynamoDBServiceError(
        operation=operation,
        reason="lvrgd_common.sync.DynamoDBService was called inside a running event loop, "
        "where it would block the loop; await lvrgd_common.DynamoDBService there instead",
    )


def _wait(future: Future[R]) -> R:
    """The future's result; an interrupt (Ctrl-C) in the waiting thread cancels the call."""
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    # Iterators abandoned unfinished are closed on their loop before it stops.
    asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()
