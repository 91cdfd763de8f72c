"""``lvrgd-dynamodb-local``: the console script serves moto with a table until stopped."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aioboto3
import pytest

from lvrgd_common.testing import free_port
from lvrgd_common.testing.local import parse_index, parse_key_schema

SCRIPT = Path(sys.executable).parent / "lvrgd-dynamodb-local"


async def describe(endpoint: str, table: str) -> dict[str, Any]:
    session = aioboto3.Session(
        aws_access_key_id="any", aws_secret_access_key="any", region_name="us-east-1"
    )
    async with session.client("dynamodb", endpoint_url=endpoint) as client:
        answer = await client.describe_table(TableName=table)
        return dict(answer["Table"])


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def test_the_script_serves_a_table_until_sigterm() -> None:
    port = free_port()
    command = [str(SCRIPT), "--port", str(port), "--table", "app", "--key-schema", "pk:S,sk:N"]
    command += ["--gsi", "gsi1=gsi1pk:S,gsi1sk:S"]
    process = subprocess.Popen(  # noqa: S603 - the package's own script
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        created = process.stdout.readline()
        serving = process.stdout.readline()
        assert created.strip() == "table 'app' created (pk:S, sk:N)", process.stderr
        endpoint = f"http://127.0.0.1:{port}"
        assert serving.startswith(f"DynamoDB (moto) serving on {endpoint}")
        table = asyncio.run(describe(endpoint, "app"))
        assert table["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
        assert types == {"pk": "S", "sk": "N", "gsi1pk": "S", "gsi1sk": "S"}
        assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["gsi1"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not answers(endpoint), "the moto server outlived the script"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_partition_key_only_table() -> None:
    port = free_port()
    command = [str(SCRIPT), "--port", str(port), "--table", "things", "--key-schema", "id:N"]
    with subprocess.Popen(  # noqa: S603 - the package's own script
        command, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "table 'things' created (id:N)"
            process.stdout.readline()
            table = asyncio.run(describe(f"http://127.0.0.1:{port}", "things"))
            assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
        finally:
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=60) == 0


@pytest.mark.parametrize("text", ["pk:X", ":S", "a:S,b:S,c:S", ""])
def test_a_bad_key_schema_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_key_schema(text)


def test_key_schema_and_index_parse() -> None:
    assert parse_key_schema("pk:S, sk:n") == [("pk", "S"), ("sk", "N")]
    index = parse_index("by-date=owner:S,at:N")
    assert (index.name, index.hash_key, index.range_key, index.range_type) == (
        "by-date",
        "owner",
        "at",
        "N",
    )
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=KEY-SCHEMA"):
        parse_index("gsi1pk:S")
