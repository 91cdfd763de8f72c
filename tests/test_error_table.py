"""One error-to-status table: examples/http_statuses.py, shown the same everywhere.

The README, docs/errors.md and docs/fastapi.md show its Markdown table; the code of
docs/fastapi.md and docs/aiohttp.md copies it as it is; both example services import it.
A page with a status row of its own (an error class and a status that the table does not
give) fails here too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import examples.aiohttp_app.app as aiohttp_app
import examples.fastapi_app.http_errors as fastapi_errors
from examples import http_statuses

ROOT = Path(__file__).resolve().parent.parent
SHOWN_IN = ["README.md", "docs/errors.md", "docs/fastapi.md"]
COPIED_IN = ["docs/fastapi.md", "docs/aiohttp.md"]
COPIED = ("RETRY_AFTER_SECONDS", "ERROR_STATUSES", "status_of", "error_headers")
STATUS_ROW = re.compile(r"^\|.*`DynamoDB\w*Error`.*\|\s*[1-5]\d\d\b.*\|$", re.MULTILINE)


def source_of(name: str) -> str:
    """The definition of ``name`` in examples/http_statuses.py, as written there."""
    text = (ROOT / "examples" / "http_statuses.py").read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else []
        named = isinstance(node, ast.FunctionDef) and node.name == name
        if named or any(isinstance(t, ast.Name) and t.id == name for t in targets):
            segment = ast.get_source_segment(text, node)
            assert segment is not None
            return segment
    msg = f"{name} is not defined in examples/http_statuses.py"
    raise AssertionError(msg)


@pytest.mark.parametrize("page", SHOWN_IN)
def test_the_page_shows_the_table(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert http_statuses.markdown_table() in text, f"{page} does not show the table as it is"


@pytest.mark.parametrize(
    "page", ["README.md", "docs/errors.md", "docs/fastapi.md", "docs/aiohttp.md"]
)
def test_no_page_has_a_status_row_of_its_own(page: str) -> None:
    rows = set(http_statuses.markdown_table().splitlines())
    text = (ROOT / page).read_text(encoding="utf-8")
    strays = [row for row in STATUS_ROW.findall(text) if row not in rows]
    assert strays == [], f"{page} maps errors to statuses outside the table: {strays}"


@pytest.mark.parametrize("page", COPIED_IN)
@pytest.mark.parametrize("name", COPIED)
def test_the_pages_code_copies_the_table_as_it_is(page: str, name: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    assert source_of(name) in text, f"{page}'s {name} differs from examples/http_statuses.py"


def test_both_example_services_answer_with_the_table() -> None:
    for app in (fastapi_errors, aiohttp_app):
        assert vars(app)["status_of"] is http_statuses.status_of, app.__name__
        assert vars(app)["error_headers"] is http_statuses.error_headers, app.__name__


def test_every_503_and_only_a_503_says_when_to_retry() -> None:
    for _error, code, _detail in http_statuses.ERROR_STATUSES:
        headers = http_statuses.error_headers(code)
        assert (headers is not None) == (code == 503)
        if headers is not None:
            assert int(headers["Retry-After"]) >= 1
