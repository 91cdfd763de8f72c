"""A griffe extension for the API reference: a parameter table for every public function.

The service's methods (async and sync) share their parameters' names and meanings, so the
descriptions live here once instead of in thirty ``Args:`` sections. A function whose
docstring has no ``Args:`` section gets one built from its signature and `DESCRIPTIONS`
(the type comes from the annotation, as mkdocstrings shows it). A parameter missing from
`DESCRIPTIONS` fails the ``--strict`` build, naming it. Loaded by mkdocs.yml
(``extensions:`` of the mkdocstrings python handler).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from griffe import Docstring, DocstringSectionKind, Extension, ParameterKind

if TYPE_CHECKING:
    from griffe import Function

__all__ = ["DESCRIPTIONS", "ParameterTables"]

# mkdocs counts warnings of its own loggers: with --strict a missing description fails.
_log = logging.getLogger("mkdocs.plugins.griffe_parameters")

DESCRIPTIONS: Final[dict[str, str]] = {
    "pk": "The partition key value (string, number or bytes, as the table's key type).",
    "sk": "The sort key value; None for a table without a sort key.",
    "item": "The model instance to store; its ``pk`` and ``sk`` are the key.",
    "items": "Model instances to put, any number, checked before the first request.",
    "keys": "``(pk, sk)`` pairs, any number (``sk`` None without a sort key).",
    "model_class": "The model class to read items into, or a union of model classes "
    "(a discriminated ``Annotated`` union for single-table reads).",
    "conditions": "`AttributeCondition` values (all must hold) or a boto3 condition "
    "(``Attr(...)``) that the stored item must satisfy; otherwise nothing is written.",
    "consistent_read": "Read with strong consistency (refused on a global index, as "
    "DynamoDB does).",
    "updates": "Attribute name (or dotted path) to its new value: a value to SET, None to "
    "REMOVE, or an action such as ``Increment(1)``, ``Append([...])``, ``Remove()``.",
    "sk_condition": "A `SortKeyCondition` on the sort key (``eq``, ``ne``, ``lt``, ``le``, "
    "``gt``, ``ge``, ``begins_with``, ``between``); None for the whole partition.",
    "limit": "The page size: every page but the last holds exactly ``limit`` items; None "
    "returns every match in one page.",
    "last_evaluated_key": "Where to go on: the previous page's ``last_evaluated_key`` "
    "(plain JSON); None starts at the beginning.",
    "index_name": "A global or local secondary index to read instead of the table; its key "
    "names come from the table's description.",
    "scan_forward": "False for descending sort-key order.",
    "filter_condition": "A boto3 condition (``Attr('status').eq('shipped')``) that DynamoDB "
    "applies after the key condition; pages stay exact.",
    "cursor": "The previous page's ``next_cursor``: an opaque, URL-safe token bound to this "
    "query (signed with ``cursor_secret``); refused when it belongs to another query.",
    "page_size": "How many items each request asks for; None lets DynamoDB fill 1 MB pages.",
    "segments": "How many segments to scan in parallel within this call (1: one after the other).",
    "segment": "With ``total_segments``: the one segment this call scans (a worker's share).",
    "total_segments": "With ``segment``: how many segments the scan is split into across workers.",
    "on_progress": "Called (sync or async) as ``on_progress(done, total)`` after each request.",
    "operations": "`TransactionWriteItem` values (put, update, delete, condition check), up to "
    "100, each naming a different item.",
    "client_request_token": "Makes retries of the same transaction idempotent (1 to 36 "
    "characters); one is made per call when None.",
    "logger": "Where the service logs: a `LoggingService` or any logger with "
    "``debug/info/warning/error(event, **fields)`` (structlog's, for one).",
    "config": "Where the table is, how to authenticate and how hard to try.",
}


class ParameterTables(Extension):
    """Give each public function of the package an ``Args:`` section built from its signature."""

    def on_function(self, *, func: Function, **kwargs: Any) -> None:  # noqa: ANN401, ARG002
        """Add the parameters' table to ``func``'s docstring where it has none."""
        if not _public(func):
            return
        parameters = [
            parameter
            for parameter in func.parameters
            if parameter.name not in {"self", "cls"}
            and parameter.kind not in {ParameterKind.var_positional, ParameterKind.var_keyword}
        ]
        if not parameters:
            return
        # The constructor's parameters belong in its class's docstring (mkdocs.yml merges
        # __init__ into the class).
        owner = func.parent if func.name == "__init__" and func.parent is not None else func
        if owner.docstring is None:
            owner.docstring = Docstring("", parent=owner)
        docstring = owner.docstring
        if _documents_parameters(docstring):
            return
        lines = []
        for parameter in parameters:
            description = DESCRIPTIONS.get(parameter.name)
            if description is None:
                _log.warning("no description for parameter %r of %s", parameter.name, func.path)
                description = ""
            lines.append(f"    {parameter.name}: {description}")
        docstring.value = docstring.value.rstrip() + "\n\nArgs:\n" + "\n".join(lines)


def _public(func: Function) -> bool:
    """A function of the package's public API (``__init__``: its class's signature)."""
    *owners, name = func.path.split(".")
    if owners[:1] != ["lvrgd_common"] or any(part.startswith("_") for part in owners):
        return False
    return name == "__init__" or not name.startswith("_")


def _documents_parameters(docstring: Docstring) -> bool:
    text = docstring.value
    if "Args:" not in text and "Arguments:" not in text and "Parameters:" not in text:
        return False
    kinds = {section.kind for section in docstring.parse("google")}
    return DocstringSectionKind.parameters in kinds
