"""``lvrgd-dynamodb-local``: the embedded moto server with a table, for local development.

    lvrgd-dynamodb-local --port 8000 --table app --key-schema pk:S,sk:S

Serves until Ctrl-C (or SIGTERM); the data lives in memory and goes with the process. Point
the application at it with ``DYNAMODB_ENDPOINT_URL=http://127.0.0.1:8000``,
``DYNAMODB_TABLE_NAME=app`` and any ``AWS_REGION`` and credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from typing import TYPE_CHECKING, get_args

from pydantic import SecretStr

from lvrgd_common.models.dynamodb_config import DynamoDBConfig
from lvrgd_common.testing.servers import moto_server
from lvrgd_common.testing.tables import IndexSpec, KeyType, create_table

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

__all__ = ["KeyAttribute", "main", "parse_index", "parse_key_schema"]

KeyAttribute = tuple[str, KeyType]
_TYPES = get_args(KeyType)


def parse_key_schema(text: str) -> list[KeyAttribute]:
    """``"pk:S,sk:S"`` -> ``[("pk", "S"), ("sk", "S")]``: a partition key, then a sort key.

    Raises:
        argparse.ArgumentTypeError: Not one or two ``name:TYPE`` pairs with TYPE S, N or B.
    """
    attributes: list[KeyAttribute] = []
    for part in text.split(","):
        name, _, kind = part.strip().partition(":")
        kind = kind.upper() or "S"
        if not name or kind not in _TYPES:
            msg = f"{part!r} is not NAME:TYPE with TYPE one of S, N, B"
            raise argparse.ArgumentTypeError(msg)
        attributes.append((name, kind))  # type: ignore[arg-type] # checked just above
    if len(attributes) > 2:  # noqa: PLR2004 - a partition key and a sort key at most
        msg = f"{text!r} names {len(attributes)} keys; a table has a partition and a sort key"
        raise argparse.ArgumentTypeError(msg)
    return attributes


def parse_index(text: str) -> IndexSpec:
    """``"gsi1=gsi1pk:S,gsi1sk:S"`` -> a global secondary index of that name and keys.

    Raises:
        argparse.ArgumentTypeError: Not ``NAME=KEY-SCHEMA``.
    """
    name, equals, schema = text.partition("=")
    if not equals or not name:
        msg = f"{text!r} is not NAME=KEY-SCHEMA, e.g. gsi1=gsi1pk:S,gsi1sk:S"
        raise argparse.ArgumentTypeError(msg)
    keys = parse_key_schema(schema)
    hash_key, hash_type = keys[0]
    range_key, range_type = keys[1] if len(keys) > 1 else (None, "S")
    return IndexSpec(
        name=name,
        hash_key=hash_key,
        hash_type=hash_type,
        range_key=range_key,
        range_type=range_type,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lvrgd-dynamodb-local",
        description="Serve moto's DynamoDB on a local port with a table created, until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--table", help="a table to create (none by default)")
    parser.add_argument(
        "--key-schema",
        type=parse_key_schema,
        default=[("pk", "S"), ("sk", "S")],
        help="the table's keys as NAME:TYPE[,NAME:TYPE] (default pk:S,sk:S)",
    )
    parser.add_argument(
        "--gsi",
        type=parse_index,
        action="append",
        default=[],
        help="a global index as NAME=KEY-SCHEMA, e.g. gsi1=gsi1pk:S,gsi1sk:S (repeatable)",
    )
    parser.add_argument("--region", default="us-east-1", help="the region to sign for")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the server, create the table, print where it is, serve until stopped."""
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    with moto_server(args.host, args.port) as server:
        if args.table:
            keys: list[KeyAttribute] = args.key_schema
            config = DynamoDBConfig(
                table_name=args.table,
                region=args.region,
                endpoint_url=server.endpoint_url,
                aws_access_key_id="local",
                aws_secret_access_key=SecretStr("local"),
                partition_key_name=keys[0][0],
                sort_key_name=keys[1][0] if len(keys) > 1 else None,
            )
            asyncio.run(
                create_table(
                    config,
                    partition_key_type=keys[0][1],
                    sort_key_type=keys[1][1] if len(keys) > 1 else "S",
                    global_indexes=args.gsi,
                )
            )
            print(f"table {args.table!r} created ({', '.join(f'{n}:{t}' for n, t in keys)})")  # noqa: T201
        print(f"DynamoDB (moto) serving on {server.endpoint_url}; Ctrl-C stops it", flush=True)  # noqa: T201
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
