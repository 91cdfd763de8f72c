"""Every ```python block of README.md runs, in order, against moto.

The blocks share one namespace, as one program would, and may ``await`` at top level (they
run inside an async function in the README's words). ``service`` is an open service on the
README's table; a block that defines ``main()`` behind ``if __name__ == "__main__"`` has
``main()`` awaited. The README's ``DynamoDBConfig(...)`` names no endpoint: the AWS SDKs'
``AWS_ENDPOINT_URL_DYNAMODB`` points botocore at moto, as it would in a user's shell.
Finally the README's FastAPI app is served in-process and asked what the README promises.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import IndexSpec, create_table, delete_table

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
TABLE, REGION = "app", "eu-west-1"


# Sections whose blocks each need a table of another key schema than the README's own
# (PK/SK names, numeric keys) or models of their own: not run here yet; test_key_schemas.py,
# test_single_table.py, test_scan.py, test_filters.py and test_cursors.py cover those calls.
# "## Writes" shows fragments (models elided, a refused call): test_writes.py and
# test_conditions.py run those calls on both servers.
OWN_TABLES = ("## Real tables", "## Writes")


def readme_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every python block outside the `OWN_TABLES` sections."""
    text = README.read_text()
    skipped: list[tuple[int, int]] = []
    for heading in OWN_TABLES:
        start = text.index(f"\n{heading}\n")
        end = text.find("\n## ", start + 1)
        skipped.append((start, len(text) if end < 0 else end))
    return [
        (text.count("\n", 0, m.start()) + 2, m.group(1))
        for m in BLOCK.finditer(text)
        if not any(start <= m.start() < end for start, end in skipped)
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


async def run_block(line: int, code: str, namespace: dict[str, Any]) -> None:
    compiled = compile(
        code, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(compiled, namespace)  # noqa: S307 - the project's own README
    if inspect.isawaitable(result):
        await result
    if 'if __name__ == "__main__":' in code and "main" in namespace:
        await namespace["main"]()


async def test_every_python_block_of_the_readme_runs(readme_table: DynamoDBConfig) -> None:
    blocks = readme_blocks()
    # Left to other tests: 6 blocks in "Real tables", 5 in "Writes".
    assert len(blocks) == README.read_text().count("```python") - 11 > 0
    async with DynamoDBService(LoggingService(), readme_table) as service:
        namespace: dict[str, Any] = {"__name__": "readme", "service": service}
        for line, code in blocks:
            try:
                await run_block(line, code, namespace)
            except Exception as exc:
                msg = f"the README block at line {line} failed: {exc!r}"
                raise AssertionError(msg) from exc

        # What the README promises of its FastAPI app.
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
