"""Every ```python block of README.md runs, in order, against moto.

The blocks share one namespace, as one program would, and may ``await`` at top level (they
run inside an async function in the README's words). ``service`` is an open service on the
README's table; a block that defines ``main()`` behind ``if __name__ == "__main__"`` has
``main()`` awaited. The README's ``DynamoDBConfig(...)`` names no endpoint: the AWS SDKs'
``AWS_ENDPOINT_URL_DYNAMODB`` points botocore at moto, as it would in a user's shell.
Finally the README's FastAPI app is served in-process and asked what the README promises.

The "Writes" and "Real tables" sections are programs of their own (their models reuse
names such as ``Profile``, and they need tables keyed otherwise): each runs in a fresh
namespace on a fresh ``app`` table plus the tables it names, and what it wrote is read back.
Every block of the README belongs to exactly one of these programs.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
import pytest

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import IndexSpec, KeyType, create_table, delete_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

README = Path(__file__).resolve().parent.parent / "README.md"
_TOOL = README.parent / "tools" / "first_program.py"
_SPEC = importlib.util.spec_from_file_location("first_program", _TOOL)
assert _SPEC is not None
assert _SPEC.loader is not None
first_program = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(first_program)
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
TABLE, REGION = "app", "eu-west-1"


class Table(NamedTuple):
    """A table a README section names besides ``app``."""

    name: str
    key_names: dict[str, str] = {}
    sort_key_type: KeyType = "S"


# Sections that run as programs of their own, each in a fresh namespace on a fresh ``app``
# table, with the other tables they name.
OWN_PROGRAMS: dict[str, tuple[Table, ...]] = {
    "## Writes": (),
    "## Real tables": (
        Table("legacy", {"partition_key_name": "PK", "sort_key_name": "SK"}),
        Table("readings", sort_key_type="N"),
    ),
}


def section_span(text: str, heading: str) -> tuple[int, int]:
    """Where the ``## `` section ``heading`` starts and ends in ``text``."""
    start = text.index(f"\n{heading}\n")
    end = text.find("\n## ", start + 1)
    return start, len(text) if end < 0 else end


def readme_blocks(section: str | None = None) -> list[tuple[int, str]]:
    """(line number, code) of every python block of ``section``, or (None) of every block
    outside the `OWN_PROGRAMS` sections."""
    text = README.read_text()
    if section is None:  # leave out the sections that are programs of their own
        left_out = [section_span(text, heading) for heading in OWN_PROGRAMS]
    else:  # leave out everything around the section
        start, end = section_span(text, section)
        left_out = [(0, start), (end, len(text))]
    return [
        (text.count("\n", 0, m.start()) + 2, m.group(1))
        for m in BLOCK.finditer(text)
        if not any(start <= m.start() < end for start, end in left_out)
    ]


@pytest.fixture
async def readme_table(
    backend: str, endpoint_url: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[DynamoDBConfig]:
    if backend != "moto" or endpoint_url is None:
        pytest.skip("the README runs against moto")
    for name, value in {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint_url,
        "AWS_ACCESS_KEY_ID": "readme",
        "AWS_SECRET_ACCESS_KEY": "readme-secret",
        "AWS_REGION": REGION,
        "DYNAMODB_TABLE_NAME": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # from_env(".env") reads the working directory's .env.
    (tmp_path / ".env").write_text(f"DYNAMODB_TABLE_NAME={TABLE}\nAWS_REGION={REGION}\n")
    monkeypatch.chdir(tmp_path)
    config = DynamoDBConfig(
        table_name=TABLE,
        region=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="readme",
        aws_secret_access_key="readme-secret",
    )
    await create_table(
        config,
        global_indexes=[IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")],
        local_indexes=[IndexSpec(name="lsi1", hash_key="pk", range_key="lsi1sk")],
    )
    yield config
    await delete_table(config)


async def run_block(
    line: int, code: str, namespace: dict[str, Any], service: DynamoDBService
) -> None:
    """Run one block; ``service`` is the open service again, whatever earlier blocks bound."""
    namespace["service"] = service
    compiled = compile(
        code, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(compiled, namespace)  # noqa: S307 - the project's own README
    if inspect.isawaitable(result):
        await result
    if 'if __name__ == "__main__":' in code and "main" in namespace:
        await namespace["main"]()


async def run_program(config: DynamoDBConfig, blocks: list[tuple[int, str]]) -> dict[str, Any]:
    """Run ``blocks`` in order in one namespace, with ``service`` open on ``config``'s table."""
    async with DynamoDBService(LoggingService(), config) as service:
        namespace: dict[str, Any] = {"__name__": "readme"}
        for line, code in blocks:
            try:
                await run_block(line, code, namespace, service)
            except Exception as exc:
                msg = f"the README block at line {line} failed: {exc!r}"
                raise AssertionError(msg) from exc
    return namespace


def test_every_python_block_belongs_to_one_program() -> None:
    everything = readme_blocks()
    for heading in OWN_PROGRAMS:
        own = readme_blocks(heading)
        assert own, heading
        everything += own
    assert len(everything) == README.read_text().count("```python")
    assert len({line for line, _ in everything}) == len(everything)


async def test_every_python_block_of_the_readme_runs(readme_table: DynamoDBConfig) -> None:
    namespace = await run_program(readme_table, readme_blocks())
    # What the README promises of its FastAPI app (its lifespan opens its own service).
    app = namespace["app"]
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://readme") as client,
    ):
        user = await client.get("/users/1")
        absent = await client.get("/users/2")
        orders = await client.get("/users/1/orders")
    assert user.status_code == 200
    assert user.json()["name"] == "Ada Lovelace"
    assert absent.status_code == 404
    assert orders.status_code == 200
    assert len(orders.json()) == 50
    assert all(order["sk"].startswith("ORDER#") for order in orders.json())
    # The cursor loop read every order, in pages.
    assert [order.sk for order in namespace["orders"]][:3] == [
        "ORDER#001",
        "ORDER#002",
        "ORDER#003",
    ]
    assert len(namespace["orders"]) == 120


async def test_the_writes_section_runs_and_writes_what_it_says(
    readme_table: DynamoDBConfig,
) -> None:
    ns = await run_program(readme_table, readme_blocks("## Writes"))
    profile_model, invoice_model, status = ns["Profile"], ns["Invoice"], ns["Status"]
    async with DynamoDBService(LoggingService(), readme_table) as service:
        profile = await service.get_one("USER#1", "PROFILE", profile_model)
        invoice = await service.get_one("USER#1", "INVOICE#7", invoice_model)
        session = await service.get_one("SESSION#1", "S", ns["Session"])
    assert ns["invoice"].status is status.PAID
    assert ns["invoice"].paid_at is not None
    assert invoice.status is status.CANCELLED  # the conditional update held
    assert invoice.total == 12  # "twelve" was refused, nothing written
    assert profile.order_count == 1
    assert profile.history == ["ordered ORDER#7"]
    assert profile.badges == {"first-order"}
    assert profile.address.city == "Lyon"
    assert profile.coupon is None
    assert (ns["account"].version, ns["account"].balance) == (2, 10)
    assert session.user == "ada"


async def test_the_real_tables_section_runs_on_its_tables(readme_table: DynamoDBConfig) -> None:
    extra = []
    for spec in OWN_PROGRAMS["## Real tables"]:
        table = readme_table.model_copy(update={"table_name": spec.name, **spec.key_names})
        await create_table(table, sort_key_type=spec.sort_key_type)
        extra.append(table)
    try:
        ns = await run_program(readme_table, readme_blocks("## Real tables"))
    finally:
        for table in extra:
            await delete_table(table)
    assert ns["user"].name == "Ada"
    assert [reading.celsius for reading in ns["today"].items] == [Decimal("21.5")]
    assert ns["profile"].name == "Ada"
    assert [purchase.total for purchase in ns["page"].items] == [120]  # the filtered page
    assert ns["first"]["items"] == [ns["profile"]]
    assert [item.total for item in ns["second"]["items"]] == [120]
    assert ns["second"]["next_cursor"] is None


def test_the_first_program_runs_as_pasted_in_a_process_of_its_own() -> None:
    """The README's first block, in a file of its own, with only the variables it names,
    against the embedded moto; it prints what the README says (`make package-check` runs
    it once more with a clean venv where only the wheel is installed)."""
    code, expected = first_program.first_program(README)
    assert "asyncio.run(main())" in code
    assert len(code.splitlines()) <= 30
    assert first_program.run(sys.executable) == expected
