"""The pytest plugin of the [testing] extra, used by a throwaway project with no conftest.

Each test writes a small project into pytester's directory and runs pytest on it in a
subprocess, as a user's project would run: the plugin comes from the ``pytest11`` entry
point, async tests run on pytest-asyncio, and the server is the embedded moto (or
``DYNAMODB_ENDPOINT_URL``).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from lvrgd_common.testing import moto_server

if TYPE_CHECKING:
    from collections.abc import Iterator

pytest_plugins = ("pytester",)

MODELS = """
from lvrgd_common import DynamoDBBaseModel


class Note(DynamoDBBaseModel):
    text: str


class Event(DynamoDBBaseModel):
    sk: None = None  # type: ignore[assignment]
    kind: str
    gsi1pk: str
    gsi1sk: str
"""

ASYNC_TESTS = """
import pytest
from boto3.dynamodb.conditions import Attr

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.testing import IndexSpec
from models import Event, Note

BY_KIND = IndexSpec(name="by-kind", hash_key="gsi1pk", range_key="gsi1sk")


@pytest.mark.asyncio
async def test_a_service_per_test(dynamodb_service: DynamoDBService) -> None:
    await dynamodb_service.save(Note(pk="n", sk="1", text="hello"))
    assert await dynamodb_service.get_one("n", "1", Note) == Note(pk="n", sk="1", text="hello")


@pytest.mark.asyncio
async def test_each_test_has_a_fresh_table(dynamodb_service: DynamoDBService) -> None:
    assert await dynamodb_service.get_one("n", "1", Note) is None


@pytest.mark.asyncio
@pytest.mark.dynamodb_table(
    sort_key=None, global_indexes=[BY_KIND], stream="NEW_AND_OLD_IMAGES"
)
async def test_the_marker_shapes_the_table(
    dynamodb_service: DynamoDBService, dynamodb_config: DynamoDBConfig
) -> None:
    assert dynamodb_config.sort_key_name is None
    await dynamodb_service.save(Event(pk="e1", kind="signup", gsi1pk="signup", gsi1sk="1"))
    page = await dynamodb_service.query_by_pk(
        "signup", Event, index_name="by-kind", filter_condition=Attr("kind").eq("signup")
    )
    assert [event.pk for event in page.items] == ["e1"]


@pytest.mark.asyncio
async def test_the_service_runs_on_the_tests_loop(dynamodb_service: DynamoDBService) -> None:
    import asyncio

    notes = [Note(pk="n", sk=str(i), text=str(i)) for i in range(20)]
    await asyncio.gather(*(dynamodb_service.save(note) for note in notes))
    page = await dynamodb_service.query_by_pk("n", Note)
    assert len(page.items) == 20


@pytest.mark.asyncio
async def test_from_env_finds_the_table(dynamodb_env: dict[str, str]) -> None:
    config = DynamoDBConfig.from_env()
    assert config.table_name == dynamodb_env["DYNAMODB_TABLE_NAME"]
    async with DynamoDBService(LoggingService("app"), config) as service:
        await service.save(Note(pk="env", sk="1", text="from the environment"))
        assert await service.ping()


def test_a_factory_makes_more_tables(dynamodb_table_factory, dynamodb_server) -> None:
    first = dynamodb_table_factory(table_prefix="orders")
    second = dynamodb_table_factory(partition_key="id", sort_key=None, partition_key_type="N")
    assert first.name.startswith("orders-") and first.name != second.name
    assert second.config.partition_key_name == "id"
    assert first.config.endpoint_url == dynamodb_server.endpoint_url


@pytest.mark.asyncio
async def test_zz_the_tables_of_earlier_tests_are_gone(dynamodb_table, dynamodb_server) -> None:
    import aioboto3

    session = aioboto3.Session(
        aws_access_key_id="x", aws_secret_access_key="y", region_name=dynamodb_server.region
    )
    async with session.client("dynamodb", endpoint_url=dynamodb_server.endpoint_url) as client:
        names = (await client.list_tables())["TableNames"]
    assert names == [dynamodb_table.name]
"""

STREAM_CHECK = """
import asyncio

import aioboto3
import pytest


@pytest.mark.dynamodb_table(stream="NEW_IMAGE", ttl_attribute="expires")
def test_stream_and_ttl_are_on(dynamodb_table) -> None:
    async def describe() -> tuple[dict, dict]:
        config = dynamodb_table.config
        session = aioboto3.Session(
            aws_access_key_id="x", aws_secret_access_key="y", region_name=config.region
        )
        async with session.client("dynamodb", endpoint_url=config.endpoint_url) as client:
            table = await client.describe_table(TableName=dynamodb_table.name)
            ttl = await client.describe_time_to_live(TableName=dynamodb_table.name)
            return table["Table"], ttl["TimeToLiveDescription"]

    table, ttl = asyncio.run(describe())
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    assert table["TableName"].startswith("test-")
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project with models and no conftest; the server comes from the plugin."""
    monkeypatch.delenv("DYNAMODB_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    pytester.makepyfile(models=textwrap.dedent(MODELS))
    pytester.makeini(
        "[pytest]\naddopts = --strict-markers -p no:cacheprovider\n"
        "asyncio_default_fixture_loop_scope = function\n"
    )
    return pytester


def test_the_fixtures_serve_async_tests_on_moto(project: pytest.Pytester) -> None:
    project.makepyfile(test_notes=textwrap.dedent(ASYNC_TESTS))
    result = project.runpytest_subprocess("-q", timeout=600)
    result.assert_outcomes(passed=7)


def test_the_marker_turns_on_stream_and_ttl(project: pytest.Pytester) -> None:
    project.makepyfile(test_stream=textwrap.dedent(STREAM_CHECK))
    result = project.runpytest_subprocess("-q", timeout=600)
    result.assert_outcomes(passed=1)


@pytest.fixture
def outside_server() -> Iterator[str]:
    with moto_server() as server:
        yield server.endpoint_url


def test_dynamodb_endpoint_url_is_used_instead_of_starting_moto(
    project: pytest.Pytester, outside_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_env=f"""
        def test_server(dynamodb_server, dynamodb_table) -> None:
            assert dynamodb_server.endpoint_url == {outside_server!r}
            assert not dynamodb_server.embedded
            assert dynamodb_table.config.endpoint_url == {outside_server!r}
        """
    )
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", outside_server)
    result = project.runpytest_subprocess("-q", timeout=600)
    result.assert_outcomes(passed=1)


def test_a_misused_marker_fails_with_the_reason(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.dynamodb_table(sort_keys="sk")
        def test_typo(dynamodb_table) -> None:
            pass
        """
    )
    result = project.runpytest_subprocess("-q", timeout=600)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*TableSpec*", "*sort_keys*", "*Extra inputs are not permitted*"])


GUIDE = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
FENCE = re.compile(r"^```python\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def test_the_guides_test_file_passes_as_written(project: pytest.Pytester) -> None:
    """docs/testing.md's test file, pasted into a project, passes with the plugin alone."""
    files = {
        code.split("\n", 1)[0].removeprefix("# "): code
        for code in FENCE.findall(GUIDE.read_text(encoding="utf-8"))
        if code.startswith("# test_")
    }
    assert list(files) == ["test_notes.py"]
    (project.path / "test_notes.py").write_text(files["test_notes.py"], encoding="utf-8")
    result = project.runpytest_subprocess("-q", timeout=600)
    result.assert_outcomes(passed=4)


def test_without_pytest_asyncio_the_service_fixture_says_what_to_install(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin loads wherever the package is installed; without pytest-asyncio the sync
    fixtures work and ``dynamodb_service`` fails naming the extra, instead of pytest
    failing to start."""
    shadow = project.mkpydir("shadow") / "pytest_asyncio"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('pytest-asyncio is not installed')\n")
    monkeypatch.setenv("PYTHONPATH", str(project.path / "shadow"))
    project.makepyfile(
        test_no_asyncio="""
        def test_sync_fixtures_work(dynamodb_table) -> None:
            assert dynamodb_table.name.startswith("test-")

        def test_the_service_fixture(dynamodb_service) -> None:
            pass
        """
    )
    result = project.runpytest_subprocess("-q", "-p", "no:asyncio", timeout=600)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*needs pytest-asyncio*lvrgd-common[[]testing[]]*"])
