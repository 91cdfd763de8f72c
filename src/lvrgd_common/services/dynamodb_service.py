"""`DynamoDBService`: the lifecycle and the public operations."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing, contextmanager
from functools import partial
from time import perf_counter
from typing import TYPE_CHECKING, Any, Self, TypeVar, overload

from lvrgd_common.exceptions.dynamodb_exceptions import (
    DynamoDBAmbiguousWriteError,
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBDecodeError,
    DynamoDBItemNotFoundError,
    DynamoDBServiceError,
    DynamoDBUnavailableError,
    DynamoDBValidationError,
)
from lvrgd_common.models.dynamodb_base_model import DynamoDBBaseModel, KeyValue
from lvrgd_common.models.pagination_result import PaginationResult
from lvrgd_common.models.sort_key_condition import (
    SortKeyCondition,
    sort_key_condition_problem,
)
from lvrgd_common.services._dynamodb.apis import APIS
from lvrgd_common.services._dynamodb.batching import (
    MAX_BATCH_GET,
    MAX_BATCH_WRITE,
    Backoff,
    ChunkOutcome,
    chunked,
    drain,
    run_bounded,
)
from lvrgd_common.services._dynamodb.codec import (
    InvalidInputError,
    Item,
)
from lvrgd_common.services._dynamodb.cursors import decode_cursor, encode_cursor, query_scope
from lvrgd_common.services._dynamodb.errors import (
    ErrorRoom,
    describe_table,
    is_key_schema_mismatch,
    naming_operations,
    raised_by_client,
    translate_error,
)
from lvrgd_common.services._dynamodb.keys import KeySchemaError, TableKeys
from lvrgd_common.services._dynamodb.lifecycle import Gate
from lvrgd_common.services._dynamodb.operation import OperationLog
from lvrgd_common.services._dynamodb.queries import (
    IndexKeys,
    QueryPlan,
    attribute_types,
    parse_key_schemas,
    walk,
)
from lvrgd_common.services._dynamodb.reading import ItemReader, UnfitItemError, reader_of
from lvrgd_common.services._dynamodb.requests import (
    CAPACITY_APIS,
    Key,
    batch_get_request,
    batch_write_request,
    check_keys,
    check_page_size,
    check_unversioned,
    delete_entry,
    delete_request,
    encoded_item,
    encoded_keys,
    get_request,
    key_values,
    put_entry,
    query_request,
    refused_as_item,
    save_request,
    transact_get_request,
    transact_write_request,
    transaction_key_values,
    unprocessed_get_keys,
    unprocessed_write_keys,
    update_request,
)
from lvrgd_common.services._dynamodb.scanning import read_segments, scan_request, scan_segments
from lvrgd_common.services._dynamodb.transport.answers import accumulates
from lvrgd_common.services._dynamodb.transport.base import open_transport
from lvrgd_common.streams._consumer import StreamWorker
from lvrgd_common.streams._lock import LockContext
from lvrgd_common.streams._port import Port

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
    from contextlib import AsyncExitStack
    from types import TracebackType

    from boto3.dynamodb.conditions import ConditionBase
    from pydantic import TypeAdapter

    from lvrgd_common.models.dynamodb_config import DynamoDBConfig
    from lvrgd_common.models.transaction_write_item import TransactionWriteItem
    from lvrgd_common.services._dynamodb.expressions import Conditions
    from lvrgd_common.services._dynamodb.transport.base import Transport
    from lvrgd_common.services.logging_service import LoggerProtocol
    from lvrgd_common.streams._consumer import StartPosition
    from lvrgd_common.streams._events import ChangeEvent

__all__ = ["DynamoDBService"]

T = TypeVar("T", bound=DynamoDBBaseModel)
M = TypeVar("M", bound=DynamoDBBaseModel)


class DynamoDBService:
    """Async persistence of `DynamoDBBaseModel` items in one DynamoDB table.

    The constructor does no I/O. Opening creates one aioboto3 client (and, with
    ``fast_path``, the lean path's HTTP pool) that every task of the opening event loop
    shares; closing refuses new operations, lets running ones finish (up to
    ``operation_timeout``) and releases them. A closed service cannot be reopened.

    Examples:
        >>> async def main() -> None:
        ...     async with DynamoDBService(LoggingService(), config) as service:
        ...         await service.save(User(pk="USER#1", sk="PROFILE", name="Ada"))
        ...         user = await service.get_one("USER#1", "PROFILE", User)
    """

    def __init__(self, logger: LoggerProtocol, config: DynamoDBConfig) -> None:
        self._logger = logger
        self._config = config
        self._table = config.table_name
        self._where = describe_table(config.table_name, config.region, config.endpoint_url)
        self._transport: Transport | None = None
        self._stack: AsyncExitStack | None = None
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate = Gate()
        self._timeout = config.operation_timeout
        self._lifecycle_lock = asyncio.Lock()
        self._schema_lock = asyncio.Lock()
        self._schemas: dict[str | None, IndexKeys] | None = None
        self._keys = TableKeys.configured(config)
        self._backoff = Backoff(
            config.batch_max_attempts, config.batch_backoff_base, config.batch_backoff_max
        )
        self._capacity = config.return_consumed_capacity
        secret = config.cursor_secret
        self._cursor_secret = None if secret is None else secret.get_secret_value().encode()
        self._port: Port | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._transport else "new"
        return f"DynamoDBService(table={self._table!r}, region={self._config.region!r}, {state})"

    @property
    def config(self) -> DynamoDBConfig:
        """The configuration this service was built with."""
        return self._config

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> Self:
        """Create the aioboto3 client; sends no request. Opening twice is harmless.

        Raises:
            DynamoDBServiceError: The service was closed, or the client cannot be created.
        """
        async with self._lifecycle_lock:
            if self._closed:
                raise DynamoDBServiceError(
                    operation="open", reason="the service is closed; create a new one"
                )
            if self._transport is None:
                self._transport, self._stack = await open_transport(self._config, self._logger)
                self._loop = asyncio.get_running_loop()
        return self

    async def close(self) -> None:
        """Refuse new operations, let running ones finish, then release the client.

        Running operations get up to ``operation_timeout`` seconds; a request still in
        flight after that fails with `DynamoDBServiceError`. No connection is left open.
        Closing twice is harmless.
        """
        async with self._lifecycle_lock:
            self._closed = True
            try:
                await self._gate.wait_idle(self._timeout)
            finally:
                # New requests are refused from here on; those in flight are ended.
                stack, self._stack, self._transport = self._stack, None, None
                await self._gate.end_requests()
                if stack is not None:
                    await stack.aclose()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # --- single items ---------------------------------------------------------------------

    async def save(self, item: M, *, conditions: Conditions = ()) -> M:
        """Put the whole item, replacing any stored item with the same key; returns it as saved.

        A `VersionedModel` is saved at ``version + 1``, only if the stored version is
        ``item.version`` (for 0: no item is stored), and comes back with its new version.

        Raises:
            DynamoDBValidationError: Bad keys, unstorable values, or over 400 KB.
            DynamoDBConditionalCheckError: One of ``conditions`` did not hold, or the stored
                version of a `VersionedModel` is not ``item.version`` (a stale save).
        """
        pk, sk = getattr(item, "pk", None), getattr(item, "sk", None)
        with self._operation("save", pk, sk) as op:
            keys = await self._table_keys(op, pk, sk)
            saved, request = save_request(self._table, keys, item, conditions)
            await self._send(op, "put_item", request)
            return saved

    @overload
    async def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: type[T] | TypeAdapter[T],
        *,
        consistent_read: bool = False,
    ) -> T | None: ...
    @overload
    async def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> Any: ...  # noqa: ANN401 - a member of the union given as model_class

    async def get_one(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> Any:
        """The item with this key as ``model_class``, or None when absent.

        ``model_class`` may be a union of models (single-table design), e.g.
        ``Annotated[User | Order, Field(discriminator="kind")]``: the item comes back as
        its member.

        Raises:
            DynamoDBDecodeError: The stored item fits neither ``model_class`` nor any member.
        """
        with self._operation("get_one", pk, sk) as op:
            reader = reader_of(model_class)
            keys = await self._table_keys(op, pk, sk)
            request = get_request(self._table, keys, (pk, sk), consistent_read=consistent_read)
            raw = (await self._send(op, "get_item", request)).get("Item")
            op.fields["found"] = raw is not None
            return None if raw is None else _decode(op, keys, raw, reader)

    async def delete(
        self, pk: KeyValue, sk: KeyValue | None, *, conditions: Conditions = ()
    ) -> None:
        """Delete the item; deleting an absent item is not an error.

        Raises:
            DynamoDBConditionalCheckError: One of ``conditions`` did not hold.
        """
        with self._operation("delete", pk, sk) as op:
            keys = await self._table_keys(op, pk, sk)
            request = delete_request(self._table, keys, (pk, sk), conditions)
            await self._send(op, "delete_item", request)

    @overload
    async def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: None = None,
    ) -> None: ...

    @overload
    async def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: type[T],
    ) -> T: ...

    @overload
    async def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: object,
    ) -> Any: ...  # noqa: ANN401 - a union of model classes: one of its members

    async def update(
        self,
        pk: KeyValue,
        sk: KeyValue | None,
        updates: Mapping[Any, Any],
        *,
        conditions: Conditions = (),
        model_class: object = None,
    ) -> Any:
        """Change attributes of an existing item, atomically.

        A plain value SETs the attribute, None removes it, update actions (`Increment`,
        `Append`, `Prepend`, `IfNotExists`, `AddToSet`, `RemoveFromSet`) change it in
        place. Keys are names (taken literally: reserved words and dots are fine) or tuple
        paths into nested values: ``("address", "city")``, ``("tags", 0)``.

        With ``model_class`` (a model class or a discriminated union of them), keys are its
        field names (stored under their aliases), values go through the model's own
        validators and serializers and are stored exactly as ``save`` stores them, and the
        item as it is after the update comes back as ``model_class``. An action is checked
        against the field's type alone; an `Increment` on a bounded field (``Field(ge=0)``)
        is sent on condition that the result keeps the bound. For a `VersionedModel` the
        stored version advances by one; ``updates["version"]``, if given, is the version
        the item must have. Without ``model_class`` the update is refused on a versioned
        item (it would leave the version behind), unless it sets the version itself.

        Examples:
            >>> order = await service.update(
            ...     "USER#1", "ORDER#7", {"status": "paid", "attempts": Increment(1)},
            ...     model_class=Order,
            ... )

        Raises:
            DynamoDBValidationError: Bad updates (empty, a key attribute, overlapping
                paths, a bad action, an unknown field, a value the model refuses, a field
                marked ``exclude=True``).
            DynamoDBItemNotFoundError: The item does not exist (nothing is created).
            DynamoDBConditionalCheckError: With ``conditions``, an expected version or a
                bounded `Increment`: the item is absent or a condition did not hold; without
                ``model_class``: the item is versioned.
        """
        with self._operation("update", pk, sk) as op:
            keys = await self._table_keys(op, pk, sk)
            plan = update_request(self._table, keys, (pk, sk), updates, conditions, model_class)
            try:
                response = await self._send(
                    op, "update_item", plan.request, idempotent=not accumulates(updates)
                )
            except DynamoDBConditionalCheckError as exc:
                version = await self._stored_version_name(op, keys, (pk, sk), plan.version_names)
                if version is not None:
                    reason = (
                        f"the item is versioned (it holds a version in {version!r}); update it "
                        "with model_class=its VersionedModel class, which advances the version, "
                        "so that a save from a copy read before cannot overwrite this update"
                    )
                    raise op.error(reason, DynamoDBConditionalCheckError) from exc
                if plan.guarded:
                    raise
                raise DynamoDBItemNotFoundError(
                    operation=op.name,
                    pk=op.pk,
                    sk=op.sk,
                    reason="the item does not exist",
                    error_code=exc.error_code,
                ) from exc.__cause__
            if model_class is None:
                return None
            return _decode(op, keys, response["Attributes"], reader_of(model_class))

    async def _stored_version_name(
        self, op: OperationLog, keys: TableKeys, key: Key, names: tuple[str, ...]
    ) -> str | None:
        """Which of ``names`` the stored item holds a number under (None: not versioned)."""
        if not names:
            return None
        request = get_request(self._table, keys, key, consistent_read=True)
        placeholders = {f"#v{index}": name for index, name in enumerate(names)}
        request["ProjectionExpression"] = ", ".join(placeholders)
        request["ExpressionAttributeNames"] = placeholders
        item = (await self._send(op, "get_item", request)).get("Item") or {}
        return next((name for name in names if "N" in item.get(name, {})), None)

    # --- queries --------------------------------------------------------------------------

    @overload
    async def query_by_pk(
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
    async def query_by_pk(
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

    async def query_by_pk(  # noqa: PLR0913 - the contract's arguments and options
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
        """One page of the partition's items in sort-key order (all of them without limit).

        ``model_class`` may be a union of models: each item comes back as its member.

        Raises:
            DynamoDBValidationError: Unknown index, bad limit, or a cursor of another query.
            DynamoDBDecodeError: An item fits neither ``model_class`` nor any member.
        """
        with self._operation("query_by_pk", pk, limit=limit, index=index_name) as op:
            reader = reader_of(model_class)
            plan = await self._plan(
                op,
                pk,
                None,
                index_name,
                scan_forward=scan_forward,
                consistent_read=consistent_read,
                filter_condition=filter_condition,
                model_class=model_class,
                cursor=last_evaluated_key,
            )
            return await self._page(op, plan, reader, limit, last_evaluated_key, cursor)

    @overload
    async def query_by_pk_and_sk(
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
    async def query_by_pk_and_sk(
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

    async def query_by_pk_and_sk(  # noqa: PLR0913 - the contract's arguments and options
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
        """One page of the partition's items whose sort key meets ``sk_condition``.

        ``ne`` is served as the ``lt`` range followed by the ``gt`` range. ``model_class``
        may be a union of models: each item comes back as its member.

        Raises:
            DynamoDBValidationError: Unknown index, bad limit, or a cursor of another query.
            DynamoDBDecodeError: An item fits neither ``model_class`` nor any member.
        """
        operator = getattr(sk_condition, "operator", None)
        with self._operation(
            "query_by_pk_and_sk", pk, operator=operator, limit=limit, index=index_name
        ) as op:
            if not isinstance(sk_condition, SortKeyCondition):
                msg = f"sk_condition must be a SortKeyCondition, got {sk_condition!r}"
                raise InvalidInputError(msg)
            reader = reader_of(model_class)
            plan = await self._plan(
                op,
                pk,
                sk_condition,
                index_name,
                scan_forward=scan_forward,
                consistent_read=consistent_read,
                filter_condition=filter_condition,
                model_class=model_class,
                cursor=last_evaluated_key,
            )
            return await self._page(op, plan, reader, limit, last_evaluated_key, cursor)

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
    ) -> AsyncGenerator[T, None]: ...
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
    ) -> AsyncGenerator[Any, None]: ...

    async def iter_query(
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
    ) -> AsyncGenerator[Any, None]:
        """Yield every matching item, fetching pages of ``page_size`` as needed.

        ``model_class`` may be a union of models: each item comes back as its member.
        Leave it early inside ``contextlib.aclosing`` so that it ends (and logs) at once.

        Examples:
            >>> async for order in service.iter_query("USER#1", Order, page_size=100):
            ...     print(order.sk)
        """
        with self._operation("iter_query", pk, index=index_name) as op:
            reader = reader_of(model_class)
            check_page_size(page_size, "page_size")
            plan = await self._plan(
                op,
                pk,
                sk_condition,
                index_name,
                scan_forward=scan_forward,
                consistent_read=consistent_read,
                filter_condition=filter_condition,
                model_class=model_class,
            )
            count = 0

            async def send(request: dict[str, Any]) -> dict[str, Any]:
                # The caller may take its time between pages: each page has its own budget.
                return await self._send(op, "query", request, perf_counter() + self._timeout)

            try:
                async for response in walk(send, plan, page_size=page_size):
                    for raw in response.get("Items", []):
                        count += 1
                        yield _decode(op, plan.table_keys, raw, reader)
            finally:
                op.fields["count"] = count  # also when the caller leaves early

    async def count(
        self,
        pk: KeyValue,
        sk_condition: SortKeyCondition | None = None,
        index_name: str | None = None,
        *,
        filter_condition: ConditionBase | None = None,
    ) -> int:
        """How many items match (``filter_condition`` too), exactly, across every page.

        Raises:
            DynamoDBValidationError: Unknown index, a bad sort-key condition or filter.
            DynamoDBTableNotFoundError: The table (or index) does not exist.
            DynamoDBUnavailableError: DynamoDB unreachable or throttling after the retries.
        """
        with self._operation("count", pk, index=index_name) as op:
            plan = await self._plan(
                op, pk, sk_condition, index_name, filter_condition=filter_condition
            )
            total = 0
            sender = self._sender(op, "query")
            async for response in walk(sender, plan, extra={"Select": "COUNT"}):
                total += response.get("Count", 0)
            op.fields["count"] = total
            return total

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
    ) -> AsyncGenerator[T, None]: ...
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
    ) -> AsyncGenerator[Any, None]: ...

    async def scan(
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
    ) -> AsyncGenerator[Any, None]:
        """Yield every item of the table (or index), each exactly once, in no set order.

        ``segments > 1`` reads that many segments concurrently (at most
        ``config.batch_concurrency`` at once); ``segment=i, total_segments=n`` reads one
        segment only, so several processes can split a table. ``page_size`` caps the
        items per request; ``model_class`` may be a union of models. Stopping early
        (``break``, an error, cancellation) stops every segment.

        Examples:
            >>> async for user in service.scan(User, filter_condition=Attr("active").eq(True)):
            ...     print(user.pk)

        Raises:
            DynamoDBValidationError: Bad segments, page size, filter or index.
            DynamoDBDecodeError: An item fits neither ``model_class`` nor any member.
        """
        with self._operation("scan", index=index_name, segments=segments) as op:
            reader = reader_of(model_class)
            check_page_size(page_size, "page_size")
            parts = scan_segments(segments, segment, total_segments)
            table_keys = await self._table_keys(op)
            keys = await self._index_keys(op, index_name, table_keys)
            request = scan_request(
                self._table,
                index_name,
                table_keys=table_keys,
                is_global=keys.is_global,
                consistent_read=consistent_read,
                filter_condition=filter_condition,
                page_size=page_size,
                model_class=model_class,
            )

            async def send(request: dict[str, Any]) -> dict[str, Any]:
                # The caller may take its time between pages: each page has its own budget.
                return await self._send(op, "scan", request, perf_counter() + self._timeout)

            pages = read_segments(send, request, parts, self._config.batch_concurrency)
            count = 0
            # Closed here, not by the garbage collector: stopping early stops every segment.
            async with aclosing(pages):
                async for items in pages:
                    for raw in items:
                        count += 1
                        op.fields["count"] = count
                        yield _decode(op, table_keys, raw, reader)

    async def _plan(  # noqa: PLR0913 - a query's arguments and options, each named
        self,
        op: OperationLog,
        pk: KeyValue,
        condition: SortKeyCondition | None,
        index_name: str | None,
        *,
        scan_forward: bool = True,
        consistent_read: bool = False,
        filter_condition: object = None,
        model_class: object = None,
        cursor: object = None,
    ) -> QueryPlan:
        if condition is not None and not isinstance(condition, SortKeyCondition):
            msg = f"sk_condition must be a SortKeyCondition or None, got {condition!r}"
            raise InvalidInputError(msg)
        values: list[object] = [pk]
        if condition is not None:
            # Checked before the key schema is read: a bad condition sends nothing.
            problem = sort_key_condition_problem(
                condition.operator, condition.value, condition.value2
            )
            if problem is not None:
                raise InvalidInputError(problem)
            values += [condition.value, condition.value2]
        if isinstance(cursor, dict):
            values += cursor.values()
        table_keys = await self._table_keys(op, *values)
        keys = await self._index_keys(op, index_name, table_keys)
        request = query_request(
            self._table,
            index_name,
            is_global=keys.is_global,
            scan_forward=scan_forward,
            consistent_read=consistent_read,
        )
        return QueryPlan(
            keys,
            pk,
            condition,
            request,
            scan_forward=scan_forward,
            table_keys=table_keys,
            filter_condition=filter_condition,
            model_class=model_class,
        )

    async def _page(
        self,
        op: OperationLog,
        plan: QueryPlan,
        reader: ItemReader,
        limit: int | None,
        last_evaluated_key: dict[str, Any] | None,
        cursor: str | None,
    ) -> PaginationResult[Any]:
        check_page_size(limit)
        scope = query_scope([key_range.request for key_range in plan.ranges])
        if cursor is not None:
            if last_evaluated_key is not None:
                msg = "give cursor or last_evaluated_key, not both"
                raise InvalidInputError(msg)
            last_evaluated_key = decode_cursor(cursor, scope, self._cursor_secret)
        start = plan.resume(last_evaluated_key)
        # One item beyond the page tells whether another page exists: no empty last page.
        total = None if limit is None else limit + 1
        items: list[Any] = []
        last: Item | None = None
        next_key = None
        # Items are decoded response by response, so raw ones do not pile up on a long walk.
        async for response in walk(self._sender(op, "query"), plan, start=start, total=total):
            for entry in response.get("Items", []):
                if limit is not None and len(items) == limit:
                    next_key = plan.cursor_of(last) if last is not None else None
                    break
                items.append(_decode(op, plan.table_keys, entry, reader))
                last = entry
        op.fields["count"] = len(items)
        next_cursor = None
        if next_key is not None:
            next_cursor = encode_cursor(next_key, scope, self._cursor_secret)
        return PaginationResult(
            items=items, last_evaluated_key=next_key, count=len(items), next_cursor=next_cursor
        )

    async def _index_keys(
        self, op: OperationLog, index_name: str | None, table_keys: TableKeys
    ) -> IndexKeys:
        if table_keys.problem is not None:
            raise KeySchemaError(table_keys.problem)
        if index_name is None:
            return IndexKeys.of_table(table_keys)
        await self._ensure_described(op)
        schemas = self._schemas or {}
        keys = schemas.get(index_name)
        if keys is None:
            known = ", ".join(sorted(name for name in schemas if name)) or "none"
            msg = f"unknown index {index_name!r}; the table's indexes: {known}"
            raise InvalidInputError(msg)
        return keys

    async def _table_keys(self, op: OperationLog, *values: object) -> TableKeys:
        """The table's keys; read with DescribeTable (once) when ``values`` need its types."""
        if self._keys.needs_schema(*values):
            await self._ensure_described(op)
        return self._keys

    async def _ensure_described(self, op: OperationLog) -> None:
        if self._schemas is None:
            async with self._schema_lock:
                if self._schemas is None:
                    await self._describe(op)

    async def _describe(self, op: OperationLog) -> dict[str, Any]:
        response = await self._send(op, "describe_table", {"TableName": self._table})
        table: dict[str, Any] = response["Table"]
        self._keys = TableKeys.of_table(self._config, table["KeySchema"], attribute_types(table))
        self._schemas = parse_key_schemas(table)
        return table

    # --- batches --------------------------------------------------------------------------

    async def batch_write(
        self,
        items: Sequence[DynamoDBBaseModel],
        *,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        """Put any number of items, 25 per request, chunks in flight concurrently.

        For a key given twice the last item wins. Unprocessed items are retried with
        backoff. All items are checked before anything is sent.

        ``on_progress(done, total)`` is called after each request with the items written
        so far and the number of distinct items; an exception it raises stops the batch.

        Raises:
            DynamoDBBatchOperationError: Items still not written after the last attempt,
                or whose chunk failed; ``failed_items`` names exactly those models.
        """
        with self._operation("batch_write", items=len(items)) as op:
            # Only the encoded items are kept until sent; each chunk wraps its entries when
            # it goes out. Every object that lives through the batch is one more for Python's
            # garbage collector to scan: with a wrapper per item, a full collection was a
            # quarter of a 5,000-item batch_write's client CPU.
            values = [getattr(item, name, None) for item in items for name in ("pk", "sk")]
            keys = await self._table_keys(op, *values)
            encoded: dict[Key, Item] = {}
            originals: dict[Key, DynamoDBBaseModel] = {}
            # Encoded in one go, before the first request (the collector is never paused:
            # the host's gc setting is its own, and user serializers run here).
            for index, item in enumerate(items):
                with refused_as_item(index, item):
                    check_unversioned(item)
                    key, encoded[key] = encoded_item(item, keys)
                originals[key] = item
            await self._write_batches(
                op,
                keys,
                list(encoded),
                lambda key: put_entry(encoded[key]),
                originals.__getitem__,
                on_progress,
            )

    async def batch_delete(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        *,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        """Delete any number of ``(pk, sk)`` keys, 25 per request; absent keys are fine.

        ``on_progress(done, total)`` as for `batch_write`.

        Raises:
            DynamoDBBatchOperationError: Keys still not deleted after the last attempt.
        """
        with self._operation("batch_delete", keys=len(keys)) as op:
            table_keys = await self._table_keys(op, *key_values(keys))
            unique = {key: key for key in check_keys(table_keys, keys)}
            await self._write_batches(
                op,
                table_keys,
                list(unique),
                partial(delete_entry, table_keys),
                unique.__getitem__,
                on_progress,
            )

    async def _write_batches(
        self,
        op: OperationLog,
        table_keys: TableKeys,
        keys: list[Key],
        request_of: Callable[[Key], dict[str, Any]],
        original_of: Callable[[Key], Any],
        on_progress: Callable[[int, int], object] | None,
    ) -> None:
        if on_progress is not None and not callable(on_progress):
            msg = f"on_progress must be a callable taking (done, total), got {on_progress!r}"
            raise InvalidInputError(msg)
        table = self._table
        total, done = len(keys), 0

        async def send(chunk: list[Key]) -> list[Key]:
            nonlocal done
            body = batch_write_request(table, [request_of(key) for key in chunk])
            response = await self._send(op, "batch_write_item", body)
            unprocessed = unprocessed_write_keys(response, table, table_keys)
            if on_progress is not None:
                done += len(chunk) - len(unprocessed)
                on_progress(done, total)
            return unprocessed

        outcomes = await self._run_chunks(op, send, keys, MAX_BATCH_WRITE)
        _raise_unfinished(op, outcomes, len(keys), original_of)

    @overload
    async def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: type[T] | TypeAdapter[T],
        *,
        consistent_read: bool = False,
    ) -> list[T]: ...
    @overload
    async def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> list[Any]: ...

    async def batch_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: object,
        *,
        consistent_read: bool = False,
    ) -> list[Any]:
        """The items for any number of ``(pk, sk)`` keys, in order of first request.

        Duplicate keys are fetched once; absent keys are left out. ``model_class`` may be
        a union of models: each item comes back as its member.

        Raises:
            DynamoDBBatchOperationError: Keys still unread after the last attempt.
            DynamoDBDecodeError: An item fits neither ``model_class`` nor any member.
        """
        with self._operation("batch_get", keys=len(keys)) as op:
            reader = reader_of(model_class)
            table_keys = await self._table_keys(op, *key_values(keys))
            stored_keys = encoded_keys(table_keys, keys)
            unique = list(stored_keys)
            # Each response is decoded as it arrives, so its raw items die young instead of
            # piling up. An item that does not fit is kept raw and raises below, in key
            # order, as if all were decoded at the end.
            found: dict[Key, Any] = {}
            unfit: dict[Key, Item] = {}
            table = self._table

            async def send(chunk: list[Key]) -> list[Key]:
                # A retry sends the keys DynamoDB named unprocessed, read back from its answer.
                stored = [stored_keys.get(key) or table_keys.encode(*key) for key in chunk]
                body = batch_get_request(table, stored, consistent_read=consistent_read)
                response = await self._send(op, "batch_get_item", body)
                for raw in response.get("Responses", {}).get(table, []):
                    key = table_keys.key_of(raw)
                    try:
                        found[key] = reader.decode(table_keys.loaded(raw))
                    except UnfitItemError:
                        unfit[key] = raw
                return unprocessed_get_keys(response, table, table_keys)

            outcomes = await self._run_chunks(op, send, unique, MAX_BATCH_GET)
            given = {key: key for key in unique}
            _raise_unfinished(op, outcomes, len(unique), given.__getitem__)
            op.fields["found"] = len(found) + len(unfit)
            for key in unique:
                if key in unfit:
                    _decode(op, table_keys, unfit[key], reader)  # DynamoDBDecodeError
            return [found[key] for key in unique if key in found]

    async def _run_chunks(
        self,
        op: OperationLog,
        send: Callable[[list[Key]], Any],
        keys: list[Key],
        size: int,
    ) -> list[ChunkOutcome[Key]]:
        pause = partial(self._pause, op)
        jobs = [
            partial(drain, send, list(chunk), self._backoff, op.note_batch_retry, pause)
            for chunk in chunked(keys, size)
        ]
        return await run_bounded(jobs, self._config.batch_concurrency)

    # --- transactions ---------------------------------------------------------------------

    async def transact_write(
        self,
        operations: Sequence[TransactionWriteItem],
        *,
        client_request_token: str | None = None,
    ) -> None:
        """Apply all operations atomically, or none.

        ``client_request_token`` makes retries of the same transaction idempotent; without
        one, a token is made for the call. Every attempt of the call sends the same token.

        Raises:
            DynamoDBValidationError: Over 100 operations or an item named twice (checked
                before sending).
            DynamoDBTransactionError: DynamoDB cancelled it; ``cancellation_reasons`` has
                one entry per operation, in order.
        """
        with self._operation("transact_write", operations=len(operations)) as op:
            keys = await self._table_keys(op, *transaction_key_values(operations))
            token = str(uuid.uuid4()) if client_request_token is None else client_request_token
            request = transact_write_request(self._table, keys, operations, token)
            if operations:
                with naming_operations([operation.key for operation in operations]):
                    await self._send(op, "transact_write_items", request)

    @overload
    async def transact_get(
        self,
        keys: Sequence[tuple[KeyValue, KeyValue | None]],
        model_class: type[T] | TypeAdapter[T],
    ) -> list[T]: ...
    @overload
    async def transact_get(
        self, keys: Sequence[tuple[KeyValue, KeyValue | None]], model_class: object
    ) -> list[Any]: ...

    async def transact_get(
        self, keys: Sequence[tuple[KeyValue, KeyValue | None]], model_class: object
    ) -> list[Any]:
        """Read up to 100 items atomically; results in key order, absent keys left out.

        ``model_class`` may be a union of models: each item comes back as its member.
        """
        with self._operation("transact_get", keys=len(keys)) as op:
            reader = reader_of(model_class)
            table_keys = await self._table_keys(op, *key_values(keys))
            request = transact_get_request(self._table, table_keys, keys)
            if not request["TransactItems"]:
                return []
            responses = (await self._send(op, "transact_get_items", request)).get("Responses", [])
            items = [entry["Item"] for entry in responses if entry.get("Item")]
            op.fields["found"] = len(items)
            return [_decode(op, table_keys, raw, reader) for raw in items]

    # --- health ---------------------------------------------------------------------------

    async def ping(self) -> bool:
        """True when the table exists and is ACTIVE; False when absent or unreachable."""
        with self._operation("ping") as op:
            try:
                table = await self._describe(op)
            except DynamoDBServiceError as exc:
                op.fields.update(healthy=False, error=type(exc).__name__, error_code=exc.error_code)
                return False
            status = table.get("TableStatus")
            op.fields.update(healthy=status == "ACTIVE", status=status)
            return status == "ACTIVE"

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
    ) -> AsyncGenerator[ChangeEvent[T], None]: ...
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
    ) -> AsyncGenerator[ChangeEvent[Any], None]: ...

    def changes(
        self,
        model_class: object,
        *,
        lease_table: str,
        worker_id: str | None = None,
        start: StartPosition = "trim_horizon",
        lease_seconds: float = 10.0,
        poll_interval: float = 1.0,
    ) -> AsyncGenerator[ChangeEvent[Any], None]:
        """The table's changes from its DynamoDB stream, as `ChangeEvent` s, until closed.

        Workers sharing ``lease_table`` (created when absent) share the shards; a shard's
        progress is checkpointed there after each event the loop moved past, so a worker
        started again goes on where it stopped (at-least-once). ``start`` applies to shards
        with no checkpoint yet; an empty shard is polled with backoff up to
        ``poll_interval`` s. Closing the service ends the loop. Leave early with
        ``contextlib.aclosing`` so the leases are handed back at once.

        Examples:
            >>> async with aclosing(service.changes(Order, lease_table="leases")) as events:
            ...     async for change in events:
            ...         await handle(change)

        Raises:
            DynamoDBTableNotFoundError: The table has no stream enabled.
            DynamoDBDecodeError: An image fits no model (naming its sequence number).
        """
        reader = reader_of(model_class)
        worker = StreamWorker(
            self._streams_port(),
            reader,
            lease_table=lease_table,
            worker_id=worker_id,
            start=start,
            lease_seconds=lease_seconds,
            poll_interval=poll_interval,
        )
        return worker.events()

    def lock(
        self,
        name: str,
        *,
        lease_table: str,
        lease_seconds: float = 10.0,
        wait: float | None = None,
    ) -> LockContext:
        """A lock across tasks, processes and machines: ``async with service.lock(...) as lease``.

        The lease is an item in ``lease_table`` (created when absent), taken with a
        conditional write when free or expired, renewed in the background every
        ``lease_seconds / 3`` and released on exit; ``lease.fencing_token`` grows with each
        new holder. ``wait`` bounds how long to wait for it (None: as long as it takes;
        0: one attempt). If the lease is lost while held, the body is cancelled at its next
        ``await`` and the block raises `DynamoDBLockError` (``lease.is_lost`` tells too).
        With ``cancel_on_loss = False`` set on the returned `LockContext` before entering,
        the body is left running and must look itself (``lease.check()``,
        ``await lease.wait_lost()``); the block still raises at its end.

        Raises:
            DynamoDBLockError: Not had within ``wait``, or lost while held.
        """
        return LockContext(
            self._streams_port(),
            name,
            lease_table=lease_table,
            lease_seconds=lease_seconds,
            wait=wait,
        )

    def _streams_port(self) -> Port:
        if self._port is None:
            self._port = Port(
                self._config,
                self._logger,
                self._operation,
                self._send,
                lambda: self._closed or self._transport is None,
                lambda: self._stack,
            )
        return self._port

    # --- the one door to AWS --------------------------------------------------------------

    @contextmanager
    def _operation(
        self,
        name: str,
        pk: KeyValue | None = None,
        sk: KeyValue | None = None,
        **fields: Any,  # noqa: ANN401
    ) -> Iterator[OperationLog]:
        reason = None
        if self._closed:
            reason = "the service is closed"
        elif self._transport is None:
            reason = "the service is not open"
        elif asyncio.get_running_loop() is not self._loop:
            reason = "the service was opened in another event loop; open one per loop"
        if reason is not None:
            raise DynamoDBServiceError(
                operation=name,
                pk=pk,
                sk=sk,
                reason=f"{reason}; use 'async with service:' or 'await service.open()'",
            )
        with (
            self._gate.operation(),
            ErrorRoom(OperationLog(self._logger, self._table, name, pk, sk, **fields)) as op,
        ):
            yield op

    def _sender(self, op: OperationLog, api: str) -> Callable[[dict[str, Any]], Any]:
        return partial(self._send, op, api)

    async def _send(
        self,
        op: OperationLog,
        api: str,
        request: dict[str, Any],
        deadline: float | None = None,
        *,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        """Send one request: every call to AWS goes through here.

        The request ends by ``deadline`` (a `perf_counter` value; by default the
        operation's start plus ``operation_timeout``), botocore's retries included. A
        write that is not ``idempotent`` (by default: as `apis.APIS` says) is never
        retried once it may have been applied.
        """
        if idempotent is None:
            idempotent = APIS[api].idempotent
        transport = self._transport
        if transport is None:
            reason = "the service was closed"
            raise op.error(reason, DynamoDBServiceError)
        if self._capacity and api in CAPACITY_APIS:
            request = {**request, "ReturnConsumedCapacity": "TOTAL"}
        op.note_request(api, request)
        remaining = (op.started + self._timeout if deadline is None else deadline) - perf_counter()
        if remaining <= 0:
            raise self._out_of_time(op, None)
        scope = asyncio.timeout(remaining)
        try:
            async with scope:
                self._gate.track(scope)
                response = await transport.send(api, request, idempotent=idempotent)
        except Exception as exc:
            if scope.expired():
                raise self._out_of_time(op, exc, idempotent=idempotent) from exc
            # What the client raises (botocore, aiohttp, or a parser tripping over a
            # malformed answer) leaves as a DynamoDBServiceError with the cause chained;
            # anything else is not an AWS error and is not dressed as one.
            if not raised_by_client(exc):
                raise
            error = translate_error(exc, op.name, op.pk, op.sk, where=self._where)
            if api != "describe_table" and is_key_schema_mismatch(error):
                error = await self._naming_key_schema(op, error)
            raise error from exc
        finally:
            self._gate.untrack(scope)
        op.note_response(response)
        return response

    def _out_of_time(
        self, op: OperationLog, exc: BaseException | None, *, idempotent: bool = True
    ) -> DynamoDBServiceError:
        in_flight = exc is not None
        if self._gate.closing and self._transport is None:
            reason = "the service was closed while the request was in flight"
            return op.error(
                reason, DynamoDBServiceError if idempotent else DynamoDBAmbiguousWriteError
            )
        detail = f" (the request in flight: {type(exc).__name__})" if in_flight else ""
        reason = f"DynamoDB did not answer within operation_timeout={self._timeout:g} s{detail}"
        if not idempotent and in_flight:
            reason = f"the write may or may not have been applied: {reason}"
            return op.error(reason, DynamoDBAmbiguousWriteError)
        return op.error(reason, DynamoDBUnavailableError)

    async def _pause(self, op: OperationLog, delay: float) -> None:
        """Sleep ``delay`` s between batch retries, never beyond the operation's deadline."""
        await asyncio.sleep(max(0.0, min(delay, op.started + self._timeout - perf_counter())))

    async def _naming_key_schema(
        self, op: OperationLog, error: DynamoDBServiceError
    ) -> DynamoDBServiceError:
        """The server refused a key sent unchecked (the schema unread): say what it is."""
        if self._schemas is None:
            try:
                await self._ensure_described(op)
            except DynamoDBServiceError:
                return error
        keys = self._keys
        reason = f"{error.reason} ({keys.problem or keys.schema})"
        return DynamoDBValidationError(
            operation=op.name, pk=op.pk, sk=op.sk, reason=reason, error_code=error.error_code
        )


def _decode(op: OperationLog, keys: TableKeys, raw: Item, reader: ItemReader) -> Any:  # noqa: ANN401
    try:
        return reader.decode(keys.loaded(raw))
    except UnfitItemError as exc:
        # The message names the key, the attributes and the expected types; no stored
        # value (pydantic's own message quotes them), so it is safe to log.
        pk, sk = _key_values(keys, raw)
        raise DynamoDBDecodeError(operation=op.name, pk=pk, sk=sk, reason=str(exc)) from exc


def _key_values(keys: TableKeys, raw: Item) -> tuple[Any, Any]:
    try:
        return keys.key_values_of(raw)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None, None  # an item too malformed to name


def _raise_unfinished(
    op: OperationLog,
    outcomes: Sequence[ChunkOutcome[Key]],
    total: int,
    original: Callable[[Key], Any],
) -> None:
    failed = [key for outcome in outcomes for key in outcome.pending]
    op.fields["failed"] = len(failed)
    if not failed:
        return
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    last = errors[-1] if errors else None
    cause = last.reason if last else "still unprocessed after the last attempt"
    raise DynamoDBBatchOperationError(
        operation=op.name,
        failed_items=[original(key) for key in failed],
        successful_count=total - len(failed),
        error_code=last.error_code if last else None,
        cause=cause,
    ) from last
