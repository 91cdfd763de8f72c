"""Query plans: key schemas of table and indexes, key ranges, cursors and page walking.

DynamoDB has no ``<>`` key condition and a Query filter may not name key attributes, so
``ne`` is planned as two ranges (``lt``, then ``gt``; reversed when descending). A cursor
is the key of the last item returned, as plain JSON values (strings as they are, numbers
as ints or their text, bytes as base64; the key schema says how to read them back); which
range it belongs to follows from its sort key, so no extra marker is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from lvrgd_common.models.sort_key_condition import sort_key_condition_problem
from lvrgd_common.services._dynamodb.codec import (
    AttributeValue,
    InvalidInputError,
    Item,
)
from lvrgd_common.services._dynamodb.errors import check_progress
from lvrgd_common.services._dynamodb.expressions import (
    ExpressionBuilder,
    KeyRange,
    check_filter,
    condition_attributes,
)
from lvrgd_common.services._dynamodb.keys import (
    DEFAULT_NAMES,
    TableKeys,
    comparable,
    encode_key_value,
    key_value_from_json,
    key_value_to_json,
    sendable_key,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

    from boto3.dynamodb.conditions import ConditionBase

    from lvrgd_common.models.sort_key_condition import SortKeyCondition

__all__ = [
    "TABLE_KEYS",
    "IndexKeys",
    "QueryError",
    "QueryPlan",
    "attribute_types",
    "parse_key_schemas",
    "walk",
]


class QueryError(InvalidInputError):
    """A query's arguments do not fit the table; the service raises a validation error."""


@dataclass(frozen=True, slots=True)
class IndexKeys:
    """Key attribute names and types of the table or one of its indexes."""

    name: str | None
    hash_name: str
    hash_type: str
    range_name: str | None
    range_type: str | None
    is_global: bool
    cursor_names: tuple[str, ...]
    types: Mapping[str, str]
    """The type of every attribute in ``cursor_names``."""

    @classmethod
    def of_table(cls, table_keys: TableKeys) -> IndexKeys:
        """The table's own keys (strings where the types have not been read)."""
        types = {table_keys.partition_name: table_keys.partition_type or "S"}
        if table_keys.sort_name is not None:
            types[table_keys.sort_name] = table_keys.sort_type or "S"
        return cls(
            name=None,
            hash_name=table_keys.partition_name,
            hash_type=types[table_keys.partition_name],
            range_name=table_keys.sort_name,
            range_type=types.get(table_keys.sort_name or ""),
            is_global=False,
            cursor_names=table_keys.names,
            types=types,
        )

    @property
    def schema(self) -> str:
        """The key schema in words, for error messages."""
        owner = "the table's" if self.name is None else f"index {self.name!r}"
        text = f"{owner} key schema is partition key {self.hash_name!r} ({self.hash_type})"
        if self.range_name is None:
            return f"{text}, no sort key"
        return f"{text}, sort key {self.range_name!r} ({self.range_type})"


TABLE_KEYS: Final = IndexKeys.of_table(TableKeys(*DEFAULT_NAMES))
"""The default table keys: strings named ``pk`` and ``sk``."""


def attribute_types(table: Mapping[str, Any]) -> dict[str, str]:
    """Attribute name -> S, N or B for every key attribute DescribeTable defines."""
    return {
        definition["AttributeName"]: definition["AttributeType"]
        for definition in table.get("AttributeDefinitions", [])
    }


def parse_key_schemas(table: Mapping[str, Any]) -> dict[str | None, IndexKeys]:
    """Key schemas of the table (under None) and of each index, from DescribeTable."""
    types = attribute_types(table)
    table_keys = _keys(None, table["KeySchema"], types, (), is_global=False)
    schemas: dict[str | None, IndexKeys] = {None: table_keys}
    for field, is_global in (("GlobalSecondaryIndexes", True), ("LocalSecondaryIndexes", False)):
        for index in table.get(field, []):
            name = index["IndexName"]
            schemas[name] = _keys(
                name, index["KeySchema"], types, table_keys.cursor_names, is_global=is_global
            )
    return schemas


def _keys(
    name: str | None,
    schema: list[Mapping[str, str]],
    types: Mapping[str, str],
    table_names: tuple[str, ...],
    *,
    is_global: bool,
) -> IndexKeys:
    roles = {element["KeyType"]: element["AttributeName"] for element in schema}
    hash_name = roles["HASH"]
    range_name = roles.get("RANGE")
    cursor_names = tuple(
        dict.fromkeys((*table_names, hash_name, *([range_name] if range_name else [])))
    )
    names = tuple(name for name in cursor_names if name)
    return IndexKeys(
        name=name,
        hash_name=hash_name,
        hash_type=types.get(hash_name, "S"),
        range_name=range_name,
        range_type=types.get(range_name, "S") if range_name else None,
        is_global=is_global,
        cursor_names=names,
        types={attribute: types.get(attribute, "S") for attribute in names},
    )


def _typed(value: object, keys: IndexKeys, attribute_type: str | None, role: str) -> AttributeValue:
    if attribute_type == "N" and isinstance(value, str):
        # Numeric keys were queried with numeric strings before numbers were taken.
        try:
            value = Decimal(value)
        except InvalidOperation:
            msg = f"{role} {value!r} is not a number ({keys.schema})"
            raise QueryError(msg) from None
    try:
        return encode_key_value(value, attribute_type, role)
    except InvalidInputError as exc:
        msg = f"{exc} ({keys.schema})"
        raise QueryError(msg) from None


def _satisfies(value: Any, operator: str, bounds: tuple[Any, ...]) -> bool:  # noqa: ANN401, PLR0911
    if operator == "eq":
        return bool(value == bounds[0])
    if operator == "lt":
        return bool(value < bounds[0])
    if operator == "le":
        return bool(value <= bounds[0])
    if operator == "gt":
        return bool(value > bounds[0])
    if operator == "ge":
        return bool(value >= bounds[0])
    if operator == "begins_with":
        return isinstance(value, (str, bytes)) and value.startswith(bounds[0])
    return bool(bounds[0] <= value <= bounds[1])


@dataclass(frozen=True, slots=True)
class _Range:
    operator: str | None
    bounds: tuple[Any, ...]
    request: dict[str, Any]


class QueryPlan:
    """The requests one query sends, in order, and how its cursors are read and written.

    Raises:
        QueryError: A condition or cursor that does not fit the key schema.
    """

    __slots__ = ("filter_condition", "keys", "model_class", "pk", "ranges", "table_keys")

    def __init__(
        self,
        keys: IndexKeys,
        pk: object,
        condition: SortKeyCondition | None,
        base_request: Mapping[str, Any],
        *,
        scan_forward: bool,
        table_keys: TableKeys | None = None,
        filter_condition: object = None,
        model_class: object = None,
    ) -> None:
        self.keys = keys
        # Filter values are sent in this class's stored form (not for a union).
        self.model_class = model_class if isinstance(model_class, type) else None
        self.table_keys = table_keys or TableKeys(*DEFAULT_NAMES)
        self.pk = pk
        self.filter_condition = self._checked_filter(filter_condition)
        hash_value = _typed(pk, keys, keys.hash_type, "pk")
        if condition is None:
            operators: list[tuple[str | None, tuple[object, ...]]] = [(None, ())]
        else:
            problem = sort_key_condition_problem(
                condition.operator, condition.value, condition.value2
            )
            if problem is not None:
                raise QueryError(problem)
            if keys.range_name is None:
                where = "the table" if keys.name is None else f"index {keys.name!r}"
                msg = f"{where} has no sort key to put a condition on ({self.table_keys.schema})"
                raise QueryError(msg)
            values = tuple(v for v in (condition.value, condition.value2) if v is not None)
            if condition.operator == "ne":
                operators = [("lt", values), ("gt", values)]
                if not scan_forward:
                    operators.reverse()
            else:
                operators = [(condition.operator, values)]
        self.ranges = [
            self._range(hash_value, operator, values, base_request)
            for operator, values in operators
        ]

    def _checked_filter(self, condition: object) -> ConditionBase | None:
        if condition is None:
            return None
        checked = check_filter(condition)
        attributes = condition_attributes(checked)
        self.table_keys.check_stored_names(attributes, "a query's filter_condition")
        keys = {self.keys.hash_name, self.keys.range_name} - {None}
        named = sorted(attributes & keys)
        if named:
            # DynamoDB refuses these after the request is sent; say so before.
            msg = (
                f"a query's filter_condition cannot name the key attribute(s) {named}; "
                "put conditions on the sort key in sk_condition"
            )
            raise QueryError(msg)
        return checked

    def _range(
        self,
        hash_value: AttributeValue,
        operator: str | None,
        values: tuple[object, ...],
        base_request: Mapping[str, Any],
    ) -> _Range:
        typed = tuple(
            _typed(value, self.keys, self.keys.range_type, "the sort key condition's value")
            for value in values
        )
        key_range = KeyRange(self.keys.hash_name, hash_value, self.keys.range_name, operator, typed)
        builder = ExpressionBuilder(self.model_class)
        request = {**base_request, "KeyConditionExpression": key_range.expression(builder)}
        if self.filter_condition is not None:
            request["FilterExpression"] = builder.condition(self.filter_condition)
        bounds = tuple(self._comparable(value) for value in typed)
        return _Range(operator, bounds, builder.apply(request))

    def _comparable(self, value: AttributeValue) -> Any:  # noqa: ANN401
        return comparable(value)

    def cursor_of(self, item: Item) -> dict[str, Any]:
        """The JSON cursor that resumes right after ``item``."""
        return {name: key_value_to_json(item[name]) for name in self.keys.cursor_names}

    def resume(self, cursor: Mapping[str, Any] | None) -> tuple[int, Item | None]:
        """Which range to continue in and its ExclusiveStartKey, from a cursor.

        Raises:
            QueryError: The cursor is malformed or belongs to another query.
        """
        if cursor is None:
            return 0, None
        if not isinstance(cursor, dict) or set(cursor) != set(self.keys.cursor_names):
            expected = ", ".join(self.keys.cursor_names)
            msg = f"last_evaluated_key must be a mapping with exactly the keys {expected}"
            raise QueryError(msg)
        start: Item = {}
        for name in self.keys.cursor_names:
            role = f"last_evaluated_key[{name!r}]"
            try:
                start[name] = key_value_from_json(cursor[name], self.keys.types[name], role)
            except InvalidInputError as exc:
                raise QueryError(str(exc)) from None
        if self._comparable(start[self.keys.hash_name]) != self._comparable(
            _typed(self.pk, self.keys, self.keys.hash_type, "pk")
        ):
            msg = "last_evaluated_key belongs to another partition"
            raise QueryError(msg)
        return self._range_of(start), start

    def _range_of(self, start: Item) -> int:
        if self.keys.range_name is None:
            return 0
        position = self._comparable(start[self.keys.range_name])
        for index, key_range in enumerate(self.ranges):
            if key_range.operator is None or _satisfies(
                position, key_range.operator, key_range.bounds
            ):
                return index
        msg = "last_evaluated_key lies outside this query's sort key condition"
        raise QueryError(msg)


async def walk(
    send: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    plan: QueryPlan,
    *,
    start: tuple[int, Item | None] = (0, None),
    total: int | None = None,
    page_size: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield DynamoDB's responses across the plan's ranges and 1 MB pages.

    ``total`` stops the walk once that many items were returned (each request asks only
    for what is still wanted); ``page_size`` caps each request's ``Limit``. Under a filter
    DynamoDB applies ``Limit`` before filtering, so a small ``Limit`` would read a sparse
    partition a few items per request (one match in 500 took ~500 requests for a page of
    7): a filtered request sends no ``Limit`` of its own and reads up to DynamoDB's 1 MB,
    never more requests than an unfiltered walk of the same items. The walk reads on until
    ``total`` match or the ranges are exhausted, and the caller keeps what its page holds,
    its cursor built from the last item it kept.
    """
    seen = 0
    first, start_key = start
    for index in range(first, len(plan.ranges)):
        request = plan.ranges[index].request
        if extra:
            request = {**request, **extra}
        exclusive_start = start_key if index == first else None
        while True:
            limit = page_size
            if total is not None and plan.filter_condition is None:
                remaining = total - seen
                limit = remaining if limit is None else min(limit, remaining)
            call = dict(request)
            if limit is not None:
                call["Limit"] = limit
            if exclusive_start is not None:
                call["ExclusiveStartKey"] = exclusive_start
            response = await send(call)
            seen += response.get("Count", 0)
            yield response
            next_start = sendable_key(response.get("LastEvaluatedKey"))
            check_progress(exclusive_start, next_start)
            exclusive_start = next_start
            if total is not None and seen >= total:
                return
            if exclusive_start is None:
                break
