"""Serve the example on http://127.0.0.1:8000 against a throwaway moto server.

    python -m examples.fastapi_app.run_local [--port 8000]

For development only: it starts moto on a free loopback port, creates the table with
`lvrgd_common.testing.create_table`, serves until Ctrl-C, and then stops moto (the data
goes with it). Open http://127.0.0.1:8000/docs to try the endpoints.

`moto_server()` lets one request at a time into moto (its backends are not thread-safe),
so concurrent transfers and counters behave here as on DynamoDB.
"""

import argparse
import asyncio
import logging
import secrets

import uvicorn

from examples.fastapi_app.app import create_app
from lvrgd_common import DynamoDBConfig
from lvrgd_common.testing import create_table, moto_server


def main() -> None:
    """Start moto, create the table, serve the app."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # Show the library's one record per operation (operation, keys, elapsed_ms, ...).
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with moto_server() as server:
        config = DynamoDBConfig(
            table_name="accounts-dev",
            region="us-east-1",
            endpoint_url=server.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
            cursor_secret=secrets.token_urlsafe(32),  # signs the list's page cursors
        )
        asyncio.run(create_table(config))
        print(f"moto on {server.endpoint_url}, table {config.table_name!r} created")
        uvicorn.run(create_app(config), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
