"""The FastAPI example's accounts API on aiohttp: same routes, same answers, same table.

One `DynamoDBService` is opened in a ``cleanup_ctx`` generator and shared by every request
through an ``AppKey``; a middleware turns the library's errors into HTTP statuses with
fixed messages (nothing internal reaches the client). The domain (models, keys)
is the FastAPI example's own. From the repository root:

    python -m examples.aiohttp_app.run_local        # throwaway moto server and table
"""

from __future__ import annotations

import asyncio
import random
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from examples.fastapi_app.schemas import (
    Account,
    AccountIn,
    AccountOut,
    AccountPage,
    AccountPatch,
    ImportedAccount,
    ImportRequest,
    ImportResult,
    TransferIn,
    TransferOut,
    account_pk,
    account_sk,
)
from examples.http_statuses import error_headers, status_of
from lvrgd_common import (
    AttributeCondition,
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    LoggerProtocol,
    LoggingService,
    TransactionWriteItem,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

SERVICE: Final = web.AppKey("service", DynamoDBService)
ID: Final = "{%s:[A-Za-z0-9_-]{1,64}}"
ACCOUNTS: Final = f"/owners/{ID % 'owner'}/accounts"
ACCOUNT: Final = f"{ACCOUNTS}/{ID % 'account_id'}"
TRANSFER_ATTEMPTS: Final = 3
MAX_LIMIT: Final = 100
CREATE_ONLY: Final = AttributeCondition(attribute="pk", operator="not_exists")
_jitter = random.Random()  # noqa: S311 - retry jitter, not security

routes = web.RouteTableDef()
M = TypeVar("M", bound=BaseModel)


def json_error(code: HTTPStatus, detail: str, **extra: object) -> web.Response:
    """``{"detail": ...}`` as the FastAPI example answers; a 503 says when to retry."""
    return web.json_response({"detail": detail, **extra}, status=code, headers=error_headers(code))


def error_response(exc: DynamoDBServiceError) -> web.Response:
    """The HTTP answer for one of the library's errors."""
    return json_error(*status_of(exc))


@web.middleware
async def library_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Answer every `DynamoDBServiceError` a handler lets through with its status."""
    try:
        return await handler(request)
    except DynamoDBServiceError as exc:
        return error_response(exc)


def reply(model: BaseModel, status: HTTPStatus = HTTPStatus.OK) -> web.Response:
    """A pydantic model as the JSON body."""
    return web.json_response(text=model.model_dump_json(), status=status)


async def parse(request: web.Request, model: type[M]) -> M:
    """The JSON body as ``model``; 422 with pydantic's errors when it does not fit."""
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise web.HTTPUnprocessableEntity(
            text=web.json_response({"detail": errors}).text, content_type="application/json"
        ) from exc


def keys(request: web.Request) -> tuple[str, str]:
    """The stored key of the account the path names."""
    info = request.match_info
    return account_pk(info["owner"]), account_sk(info["account_id"])


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """200 when the table is reachable and ACTIVE, else 503."""
    if await request.app[SERVICE].ping():
        return web.json_response({"status": "ok"})
    return json_error(HTTPStatus.SERVICE_UNAVAILABLE, "storage is unavailable; retry later")


@routes.post(ACCOUNTS)
async def create_account(request: web.Request) -> web.Response:
    """Create an account; 409 when the id is taken."""
    account = Account.new(request.match_info["owner"], await parse(request, AccountIn))
    try:
        account = await request.app[SERVICE].save(account, conditions=[CREATE_ONLY])
    except DynamoDBConditionalCheckError:
        return json_error(HTTPStatus.CONFLICT, "account already exists")
    return reply(AccountOut.of(account), HTTPStatus.CREATED)


@routes.get(ACCOUNTS)
async def list_accounts(request: web.Request) -> web.Response:
    """One page of the owner's accounts in id order; 422 for a cursor not from this list."""
    try:
        limit = int(request.query.get("limit", "25"))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        return json_error(HTTPStatus.UNPROCESSABLE_ENTITY, f"limit must be 1 to {MAX_LIMIT}")
    cursor = request.query.get("cursor")
    try:
        page = await request.app[SERVICE].query_by_pk(
            account_pk(request.match_info["owner"]),
            Account,
            limit=limit,
            cursor=cursor,
        )
    except DynamoDBValidationError:
        if cursor is None:
            raise
        return json_error(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid cursor")
    return reply(
        AccountPage(
            items=[AccountOut.of(account) for account in page.items],
            next_cursor=page.next_cursor,
        )
    )


@routes.post(f"{ACCOUNTS}/import")
async def import_accounts(request: web.Request) -> web.Response:
    """Create or replace up to 1000 accounts; 503 names the ones not written."""
    owner = request.match_info["owner"]
    accounts = [  # batch_write refuses a VersionedModel: it cannot check versions
        ImportedAccount.new(owner, entry)
        for entry in (await parse(request, ImportRequest)).accounts
    ]
    try:
        await request.app[SERVICE].batch_write(accounts)
    except DynamoDBBatchOperationError as exc:
        return json_error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "some accounts were not written; retry those",
            failed=[account.account_id for account in exc.failed_items],
        )
    return reply(ImportResult(imported=len(accounts)), HTTPStatus.CREATED)


@routes.get(ACCOUNT)
async def get_account(request: web.Request) -> web.Response:
    """The account; 404 when absent."""
    account = await request.app[SERVICE].get_one(*keys(request), Account)
    if account is None:
        return json_error(HTTPStatus.NOT_FOUND, "account not found")
    return reply(AccountOut.of(account))


@routes.patch(ACCOUNT)
async def rename_account(request: web.Request) -> web.Response:
    """Change the name; 404 when absent (the library's `DynamoDBItemNotFoundError`)."""
    patch = await parse(request, AccountPatch)
    # With model_class the update checks the name against Account, advances the version
    # (a save from a copy read before cannot undo the rename) and returns the item.
    account = await request.app[SERVICE].update(
        *keys(request), {"name": patch.name}, model_class=Account
    )
    return reply(AccountOut.of(account))


@routes.delete(ACCOUNT)
async def delete_account(request: web.Request) -> web.Response:
    """Delete the account; deleting an absent one is fine (204 either way)."""
    await request.app[SERVICE].delete(*keys(request))
    return web.Response(status=HTTPStatus.NO_CONTENT)


@routes.post(f"/owners/{ID % 'owner'}/transfers")
async def transfer(request: web.Request) -> web.Response:
    """Move an amount between two accounts atomically, with optimistic locking.

    A lost race is retried a few times with jitter, then answered 409; 404 when an account
    is absent, 409 on insufficient funds.
    """
    data = await parse(request, TransferIn)
    service, pk = request.app[SERVICE], account_pk(request.match_info["owner"])
    for attempt in range(TRANSFER_ATTEMPTS):
        source, target = await asyncio.gather(
            service.get_one(pk, account_sk(data.source), Account, consistent_read=True),
            service.get_one(pk, account_sk(data.target), Account, consistent_read=True),
        )
        if source is None or target is None:
            return json_error(HTTPStatus.NOT_FOUND, "account not found")
        if source.balance < data.amount:
            return json_error(HTTPStatus.CONFLICT, "insufficient funds")
        debited = _with_balance(source, source.balance - data.amount)
        credited = _with_balance(target, target.balance + data.amount)
        try:
            await service.transact_write(
                [_balance_write(source, debited), _balance_write(target, credited)]
            )
        except DynamoDBTransactionError:
            if attempt + 1 == TRANSFER_ATTEMPTS:
                raise
            await asyncio.sleep(_jitter.uniform(0, 0.02 * 2**attempt))
            continue
        return reply(TransferOut(source=AccountOut.of(debited), target=AccountOut.of(credited)))
    msg = "unreachable: the last attempt returns or raises"
    raise AssertionError(msg)


def _with_balance(account: Account, balance: int) -> Account:
    return account.model_copy(update={"balance": balance, "version": account.version + 1})


def _balance_write(before: Account, after: Account) -> TransactionWriteItem:
    return TransactionWriteItem(
        operation="update",
        pk=before.pk,
        sk=before.sk,
        updates={"balance": after.balance, "version": after.version},
        conditions=(AttributeCondition(attribute="version", operator="eq", value=before.version),),
    )


def settings_from_env() -> DynamoDBConfig:
    """`DynamoDBConfig` from the environment, and from ``./.env`` when there is one."""
    env_file = Path(".env")
    return DynamoDBConfig.from_env(env_file if env_file.is_file() else None)


def create_app(
    config: DynamoDBConfig | None = None, *, logger: LoggerProtocol | None = None
) -> web.Application:
    """The application; without ``config`` the settings are read at startup."""
    log = logger or LoggingService("examples.aiohttp_app")

    async def dynamodb(app: web.Application) -> AsyncIterator[None]:
        # Runs at startup up to the yield and at cleanup after it: one service per process.
        async with DynamoDBService(log, config or settings_from_env()) as service:
            app[SERVICE] = service
            yield

    app = web.Application(middlewares=[library_errors])
    app.cleanup_ctx.append(dynamodb)
    app.add_routes(routes)
    return app
