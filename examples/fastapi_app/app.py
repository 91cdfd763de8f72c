"""A FastAPI service on lvrgd-common: an owner's accounts, paged lists, imports, transfers.

One `DynamoDBService` is opened in the lifespan hook and shared by every request (it is
safe for concurrent use and holds the HTTP connection pool); the library's errors become
HTTP statuses in `http_errors`. From the repository root:

    python -m examples.fastapi_app.run_local   # throwaway moto server and table
    uvicorn examples.fastapi_app.app:app       # settings from the environment and ./.env

The service never creates its table: in development `create_table` (or `run_local`)
does, in production your infrastructure code does.
"""

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path as FilePath
from typing import Annotated, Final

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from examples.fastapi_app.cursors import InvalidCursorError, decode_cursor, encode_cursor
from examples.fastapi_app.http_errors import install_error_handlers, json_error
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
from lvrgd_common import (
    DynamoDBBatchOperationError,
    DynamoDBConditionalCheckError,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBTransactionError,
    DynamoDBValidationError,
    Increment,
    LoggerProtocol,
    LoggingService,
    TransactionWriteItem,
)

ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
TRANSFER_ATTEMPTS: Final = 3
_jitter = random.Random()  # noqa: S311 - retry jitter, not security

Owner = Annotated[str, Path(pattern=ID_PATTERN)]
AccountId = Annotated[str, Path(pattern=ID_PATTERN)]


def settings_from_env() -> DynamoDBConfig:
    """`DynamoDBConfig` from the environment, and from ``./.env`` when there is one."""
    env_file = FilePath(".env")
    return DynamoDBConfig.from_env(env_file if env_file.is_file() else None)


def get_service(request: Request) -> DynamoDBService:
    """The service the lifespan hook opened (a FastAPI dependency)."""
    service: DynamoDBService = request.app.state.service
    return service


Service = Annotated[DynamoDBService, Depends(get_service)]
router = APIRouter()


@router.get("/health", response_model=None)
async def health(service: Service) -> dict[str, str] | JSONResponse:
    """200 when the table is reachable and ACTIVE, else 503."""
    if await service.ping():
        return {"status": "ok"}
    return json_error(HTTPStatus.SERVICE_UNAVAILABLE, "storage is unavailable; retry later")


@router.post("/owners/{owner}/accounts", status_code=HTTPStatus.CREATED)
async def create_account(owner: Owner, data: AccountIn, service: Service) -> AccountOut:
    """Create an account; 409 when the id is taken.

    A new `VersionedModel` (version 0) is saved only where no account is stored.
    """
    try:
        account = await service.save(Account.new(owner, data))
    except DynamoDBConditionalCheckError as exc:
        raise HTTPException(HTTPStatus.CONFLICT, "account already exists") from exc
    return AccountOut.of(account)


@router.get("/owners/{owner}/accounts")
async def list_accounts(
    owner: Owner,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AccountPage:
    """One page of the owner's accounts in id order; 422 for a cursor not from this list."""
    try:
        page = await service.query_by_pk(
            account_pk(owner), Account, limit=limit, last_evaluated_key=decode_cursor(cursor)
        )
    except (InvalidCursorError, DynamoDBValidationError) as exc:
        if cursor is None:
            raise
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid cursor") from exc
    return AccountPage(
        items=[AccountOut.of(account) for account in page.items],
        next_cursor=encode_cursor(page.last_evaluated_key),
    )


@router.post(
    "/owners/{owner}/accounts/import", status_code=HTTPStatus.CREATED, response_model=ImportResult
)
async def import_accounts(
    owner: Owner, data: ImportRequest, service: Service
) -> ImportResult | JSONResponse:
    """Create or replace up to 1000 accounts; 503 names the ones not written."""
    accounts = [ImportedAccount.new(owner, entry) for entry in data.accounts]
    try:
        await service.batch_write(accounts)
    except DynamoDBBatchOperationError as exc:
        return json_error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "some accounts were not written; retry those",
            failed=[account.account_id for account in exc.failed_items],
        )
    return ImportResult(imported=len(accounts))


@router.get("/owners/{owner}/accounts/{account_id}")
async def get_account(owner: Owner, account_id: AccountId, service: Service) -> AccountOut:
    """The account; 404 when absent."""
    account = await service.get_one(account_pk(owner), account_sk(account_id), Account)
    if account is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, "account not found")
    return AccountOut.of(account)


@router.patch("/owners/{owner}/accounts/{account_id}")
async def rename_account(
    owner: Owner, account_id: AccountId, patch: AccountPatch, service: Service
) -> AccountOut:
    """Change the fields sent; answers with the account as updated, in one request.

    404 when absent (the library's `DynamoDBItemNotFoundError`); the values are checked
    against `Account` by the library too.
    """
    changes = patch.model_dump(exclude_unset=True)
    account = await service.update(
        account_pk(owner), account_sk(account_id), changes, model_class=Account
    )
    return AccountOut.of(account)


@router.post("/owners/{owner}/accounts/{account_id}/orders")
async def count_order(owner: Owner, account_id: AccountId, service: Service) -> AccountOut:
    """Count one more order on the account, atomically; 404 when absent.

    `Increment` adds on the server, so concurrent requests never lose a count.
    """
    account = await service.update(
        account_pk(owner), account_sk(account_id), {"orders": Increment(1)}, model_class=Account
    )
    return AccountOut.of(account)


@router.delete("/owners/{owner}/accounts/{account_id}", status_code=HTTPStatus.NO_CONTENT)
async def delete_account(owner: Owner, account_id: AccountId, service: Service) -> Response:
    """Delete the account; deleting an absent one is fine (204 either way)."""
    await service.delete(account_pk(owner), account_sk(account_id))
    return Response(status_code=HTTPStatus.NO_CONTENT)


@router.post("/owners/{owner}/transfers")
async def transfer(owner: Owner, data: TransferIn, service: Service) -> TransferOut:
    """Move an amount between two accounts atomically.

    Both accounts are read, then saved in one transaction; as `VersionedModel` puts, each
    holds only if its ``version`` did not move meanwhile (optimistic locking). A lost race
    is retried a few times with jitter, then answered 409. 404 when an account is absent,
    409 on insufficient funds.
    """
    pk = account_pk(owner)
    for attempt in range(TRANSFER_ATTEMPTS):
        source, target = await asyncio.gather(
            service.get_one(pk, account_sk(data.source), Account, consistent_read=True),
            service.get_one(pk, account_sk(data.target), Account, consistent_read=True),
        )
        if source is None or target is None:
            raise HTTPException(HTTPStatus.NOT_FOUND, "account not found")
        if source.balance < data.amount:
            raise HTTPException(HTTPStatus.CONFLICT, "insufficient funds")
        debited = source.model_copy(update={"balance": source.balance - data.amount})
        credited = target.model_copy(update={"balance": target.balance + data.amount})
        try:
            await service.transact_write(
                [
                    TransactionWriteItem(operation="put", item=debited),
                    TransactionWriteItem(operation="put", item=credited),
                ]
            )
        except DynamoDBTransactionError:
            if attempt + 1 == TRANSFER_ATTEMPTS:
                raise
            await asyncio.sleep(_jitter.uniform(0, 0.02 * 2**attempt))
            continue
        return TransferOut(source=_as_saved(debited), target=_as_saved(credited))
    msg = "unreachable: the last attempt returns or raises"
    raise AssertionError(msg)


def _as_saved(account: Account) -> AccountOut:
    """The account as the transaction stored it: one version on."""
    return AccountOut.of(account.model_copy(update={"version": account.version + 1}))


def create_app(
    config: DynamoDBConfig | None = None, *, logger: LoggerProtocol | None = None
) -> FastAPI:
    """The application; without ``config`` the settings are read at startup from the environment."""
    log = logger or LoggingService("examples.fastapi_app")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with DynamoDBService(log, config or settings_from_env()) as service:
            app.state.service = service
            yield

    application = FastAPI(title="Accounts: an lvrgd-common example", lifespan=lifespan)
    application.include_router(router)
    install_error_handlers(application)
    return application


app = create_app()
