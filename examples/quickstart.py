"""A tour of lvrgd-common: every operation, against an embedded moto server.

Run it with ``make demo``. Set ``DYNAMODB_ENDPOINT_URL`` (and AWS credentials) in the
environment or in ``.env`` to run it against another endpoint instead; the demo creates its
own table there and deletes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import uuid
from contextlib import ExitStack

from pydantic import Field

from lvrgd_common import (
    AttributeCondition,
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBItemNotFoundError,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    LoggingService,
    SortKeyCondition,
    TransactionWriteItem,
)
from lvrgd_common.testing import IndexSpec, create_table, delete_table, moto_server


class User(DynamoDBBaseModel):
    """A user profile: pk ``USER#<id>``, sk ``PROFILE``."""

    name: str
    status: str = "new"
    tags: set[str] = Field(default_factory=set)


class Order(DynamoDBBaseModel):
    """An order of a user: pk ``USER#<id>``, sk ``ORDER#<n>``; indexed by status."""

    total: float
    gsi1pk: str | None = None
    gsi1sk: str | None = None


class Account(DynamoDBBaseModel):
    """A balance that transactions move money between."""

    balance: int


def title(text: str) -> None:
    print(f"\n== {text}")


async def tour(service: DynamoDBService) -> None:
    title("ping")
    print("table is ACTIVE:", await service.ping())

    title("save / get_one / update / delete")
    ada = User(pk="USER#1", sk="PROFILE", name="Ada", tags={"admin"})
    await service.save(ada)
    print("saved   ", ada)
    print("get_one ", await service.get_one("USER#1", "PROFILE", User))
    await service.update("USER#1", "PROFILE", {"name": "Ada Lovelace", "status": "active"})
    print("updated ", await service.get_one("USER#1", "PROFILE", User))
    try:
        await service.update("USER#404", "PROFILE", {"name": "ghost"})
    except DynamoDBItemNotFoundError as exc:
        print("update of an absent item:", exc)
    try:
        await service.update("USER#1", "PROFILE", {"pk": "USER#2"})
    except DynamoDBValidationError as exc:
        print("refused before sending:", exc)
    await service.delete("USER#1", "PROFILE")
    print("deleted; get_one ->", await service.get_one("USER#1", "PROFILE", User))

    await queries(service)
    await batches(service)
    await transactions(service)


async def queries(service: DynamoDBService) -> None:
    title("batch_write 300 orders, then query them")
    orders = [
        Order(
            pk="USER#7",
            sk=f"ORDER#{n:04d}",
            total=round(n * 1.25, 2),
            gsi1pk="STATUS#open" if n % 3 else "STATUS#shipped",
            gsi1sk=f"{n:04d}",
        )
        for n in range(300)
    ]
    await service.batch_write(orders)
    page = await service.query_by_pk("USER#7", Order, limit=5)
    print("first page:", [order.sk for order in page.items], "cursor:", page.last_evaluated_key)

    recent = SortKeyCondition(operator="between", value="ORDER#0100", value2="ORDER#0104")
    found = await service.query_by_pk_and_sk("USER#7", recent, Order)
    print("between 0100 and 0104:", [order.sk for order in found.items])

    not_one = SortKeyCondition(operator="ne", value="ORDER#0001")
    page = await service.query_by_pk_and_sk("USER#7", not_one, Order, limit=3)
    print("ne ORDER#0001, first page:", [order.sk for order in page.items])

    title("walk page by page with cursors (pages of 120)")
    cursor = None
    number = 0
    while True:
        page = await service.query_by_pk("USER#7", Order, limit=120, last_evaluated_key=cursor)
        number += 1
        print(f"page {number}: {page.count} orders, {page.items[0].sk} .. {page.items[-1].sk}")
        cursor = page.last_evaluated_key
        if cursor is None:
            break

    title("index query (GSI gsi1 keyed on gsi1pk/gsi1sk) and count")
    shipped = await service.query_by_pk("STATUS#shipped", Order, limit=4, index_name="gsi1")
    print("shipped (GSI):", [order.sk for order in shipped.items])
    print("count(USER#7):", await service.count("USER#7"))
    print("count(shipped, GSI):", await service.count("STATUS#shipped", index_name="gsi1"))
    newest = [
        order.sk
        async for order in service.iter_query("USER#7", Order, page_size=50, scan_forward=False)
    ][:3]
    print("iter_query, newest first:", newest)


async def batches(service: DynamoDBService) -> None:
    title("batch_get with duplicates and an absent key")
    keys = [("USER#7", "ORDER#0002"), ("USER#7", "ORDER#9999"), ("USER#7", "ORDER#0001")]
    keys.append(("USER#7", "ORDER#0002"))
    fetched = await service.batch_get(keys, Order)
    print("batch_get ->", [order.sk for order in fetched])
    await service.batch_delete([("USER#7", f"ORDER#{n:04d}") for n in range(300)])
    print("batch_delete 300 -> count:", await service.count("USER#7"))


async def transactions(service: DynamoDBService) -> None:
    title("transactions")
    await service.batch_write(
        [
            Account(pk="ACCOUNT#a", sk="BALANCE", balance=100),
            Account(pk="ACCOUNT#b", sk="BALANCE", balance=0),
        ]
    )
    enough = AttributeCondition(attribute="balance", operator="eq", value=100)
    await service.transact_write(
        [
            TransactionWriteItem(
                operation="update",
                pk="ACCOUNT#a",
                sk="BALANCE",
                updates={"balance": 70},
                conditions=(enough,),
            ),
            TransactionWriteItem(
                operation="update", pk="ACCOUNT#b", sk="BALANCE", updates={"balance": 30}
            ),
        ]
    )
    balances = await service.transact_get(
        [("ACCOUNT#a", "BALANCE"), ("ACCOUNT#b", "BALANCE")], Account
    )
    print("committed: balances", [account.balance for account in balances])
    try:
        await service.transact_write(
            [
                TransactionWriteItem(
                    operation="update", pk="ACCOUNT#b", sk="BALANCE", updates={"balance": 0}
                ),
                TransactionWriteItem(
                    operation="update", pk="ACCOUNT#zz", sk="BALANCE", updates={"balance": 30}
                ),
            ]
        )
    except DynamoDBTransactionError as exc:
        print("cancelled:", exc)
        for index, reason in enumerate(exc.cancellation_reasons):
            print(f"  operation {index}: {reason.code} {reason.message or ''}".rstrip())
    balances = await service.transact_get(
        [("ACCOUNT#a", "BALANCE"), ("ACCOUNT#b", "BALANCE")], Account
    )
    print("after the cancelled one: balances", [account.balance for account in balances])


async def run(endpoint_url: str | None) -> None:
    config = DynamoDBConfig.model_validate(
        {
            "table_name": f"quickstart-{uuid.uuid4().hex[:8]}",
            "region": os.environ.get("AWS_REGION", "us-east-1"),
            "endpoint_url": endpoint_url,
            "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID", "demo"),
            "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY", "demo-secret"),
        }
    )
    print(f"endpoint {endpoint_url}, table {config.table_name}")
    gsi = IndexSpec(name="gsi1", hash_key="gsi1pk", range_key="gsi1sk")
    await create_table(config, global_indexes=[gsi])
    try:
        async with DynamoDBService(LoggingService("quickstart"), config) as service:
            await tour(service)
    finally:
        await delete_table(config)
    print("\ndone")


def main() -> int:
    # The library logs one record per operation; show the warnings inline with the tour.
    logging.basicConfig(level=logging.WARNING, format="   log: %(message)s", stream=sys.stdout)
    # Variables from ./.env too (the real environment wins), like DynamoDBConfig.from_env.
    with contextlib.suppress(ImportError):
        from dotenv import load_dotenv  # noqa: PLC0415 - optional

        load_dotenv(".env")
    endpoint = os.environ.get("DYNAMODB_ENDPOINT_URL") or os.environ.get(
        "AWS_ENDPOINT_URL_DYNAMODB"
    )
    with ExitStack() as stack:
        if not endpoint:
            print("starting an embedded moto server ...")
            endpoint = stack.enter_context(moto_server()).endpoint_url
        asyncio.run(run(endpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
