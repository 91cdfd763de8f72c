"""The stored model and the shapes the HTTP API speaks.

Clients never see ``pk``/``sk``: they name an owner and an account id, and the API
builds the keys (``OWNER#<owner>`` / ``ACCOUNT#<account_id>``), so one owner's accounts
share a partition and list in account-id order.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lvrgd_common import DynamoDBBaseModel, VersionedModel

# Letters, digits, '_' and '-': no '#', the separator inside the keys.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MAX_IMPORT = 1000


def account_pk(owner: str) -> str:
    """The partition key of an owner's accounts."""
    return f"OWNER#{owner}"


def account_sk(account_id: str) -> str:
    """The sort key of one account."""
    return f"ACCOUNT#{account_id}"


PROFILE_SK = "PROFILE"
"""The sort key of the owner's profile, in the same partition as the accounts."""


class Profile(DynamoDBBaseModel):
    """The owner's profile, stored next to the owner's accounts (single-table design)."""

    kind: Literal["profile"] = "profile"
    owner: str
    display_name: str
    email: str


class Account(VersionedModel):
    """An account as stored; the library advances ``version`` with every save or update.

    A save (or a transaction's put) holds only over the version it was read at, so two
    concurrent read-modify-writes cannot both win (optimistic locking).
    """

    kind: Literal["account"] = "account"
    owner: str
    account_id: str
    name: str
    balance: int = Field(ge=0)
    orders: int = 0

    @classmethod
    def new(cls, owner: str, data: AccountIn) -> Self:
        """A fresh account (version 0 until saved) from what a client sent."""
        return cls(
            pk=account_pk(owner),
            sk=account_sk(data.account_id),
            owner=owner,
            account_id=data.account_id,
            name=data.name,
            balance=data.balance,
        )


class ImportedAccount(DynamoDBBaseModel):
    """An account as a bulk import writes it: replaced whole, at version 1.

    ``batch_write`` cannot check versions, so it refuses a `VersionedModel`; an import that
    replaces accounts says so by writing this plain model of the same attributes,
    ``kind`` included, so single-table reads see an account.
    """

    kind: Literal["account"] = "account"
    owner: str
    account_id: str
    name: str
    balance: int = Field(ge=0)
    orders: int = 0
    version: int = 1

    @classmethod
    def new(cls, owner: str, data: AccountIn) -> Self:
        """The stored form of an imported account."""
        return cls(
            pk=account_pk(owner),
            sk=account_sk(data.account_id),
            owner=owner,
            account_id=data.account_id,
            name=data.name,
            balance=data.balance,
        )


OwnerItem = Annotated[Profile | Account, Field(discriminator="kind")]
"""Anything stored in an owner's partition: one query reads the profile and the accounts."""


class ProfileIn(BaseModel):
    """The owner's profile as a client sends it."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)


class ProfileOut(BaseModel):
    """The owner's profile as clients see it."""

    owner: str
    display_name: str
    email: str

    @classmethod
    def of(cls, profile: Profile) -> Self:
        """The public view of a stored profile."""
        return cls.model_validate(profile, from_attributes=True)


class AccountIn(BaseModel):
    """A new account; the balance is in cents."""

    model_config = ConfigDict(extra="forbid")

    account_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    balance: int = Field(default=0, ge=0, le=10**12)


class AccountOut(BaseModel):
    """An account as clients see it."""

    owner: str
    account_id: str
    name: str
    balance: int
    orders: int
    version: int

    @classmethod
    def of(cls, account: Account) -> Self:
        """The public view of a stored account."""
        return cls.model_validate(account, from_attributes=True)


class AccountPatch(BaseModel):
    """Fields a client may change directly (the balance moves only by transfers)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class AccountPage(BaseModel):
    """One page of accounts; pass ``next_cursor`` back as ``cursor`` for the next one."""

    items: list[AccountOut]
    next_cursor: str | None


class OwnerOverview(BaseModel):
    """An owner's profile (None until set) and all of the owner's accounts."""

    profile: ProfileOut | None
    accounts: list[AccountOut]


class ImportRequest(BaseModel):
    """Accounts to create or replace in one go."""

    model_config = ConfigDict(extra="forbid")

    accounts: list[AccountIn] = Field(min_length=1, max_length=MAX_IMPORT)

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [account.account_id for account in self.accounts]
        if len(set(ids)) != len(ids):
            msg = "account ids must be unique within one import"
            raise ValueError(msg)
        return self


class ImportResult(BaseModel):
    """How many accounts were written."""

    imported: int


class TransferIn(BaseModel):
    """Move ``amount`` cents from ``source`` to ``target`` (both of the same owner)."""

    model_config = ConfigDict(extra="forbid")

    source: Identifier
    target: Identifier
    amount: int = Field(gt=0, le=10**12)

    @model_validator(mode="after")
    def _two_accounts(self) -> Self:
        if self.source == self.target:
            msg = "source and target must differ"
            raise ValueError(msg)
        return self


class TransferOut(BaseModel):
    """Both accounts as the transfer left them."""

    source: AccountOut
    target: AccountOut
