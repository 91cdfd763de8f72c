"""Connection and tuning settings for `DynamoDBService`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DynamoDBConfig"]

MIN_CURSOR_SECRET: Final = 16

# Field -> the variables that set it; the first one set (non-empty) wins. The AWS SDKs'
# own names are honoured, so a deployment configured for them needs nothing new. Every
# other field (the tuning fields) is read from ``DYNAMODB_`` + its name in capitals.
_CONNECTION_VARIABLES: Final[dict[str, tuple[str, ...]]] = {
    "table_name": ("DYNAMODB_TABLE_NAME",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "endpoint_url": ("DYNAMODB_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "aws_session_token": ("AWS_SESSION_TOKEN",),
}


class DynamoDBConfig(BaseModel):
    """Where the table is, how to authenticate, and how hard to try.

    Without explicit credentials the standard AWS chain applies (environment, profiles,
    instance and container roles). The secret is a `SecretStr`: it shows as ``**********``
    in ``repr``, ``str`` and logs.

    ``operation_timeout`` bounds each operation as a whole, botocore's retries and the
    batches' backoff included: with the defaults, an operation against an endpoint that
    is unreachable, or that accepts connections and never answers, fails within 10 seconds.
    """

    # hide_input_in_errors: a refused configuration must not quote the secret it was given.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    table_name: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.\-]+$")
    region: str = Field(min_length=1)
    endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None
    profile_name: str | None = Field(default=None, min_length=1)
    """The AWS profile of this service's session (``~/.aws/config`` and ``credentials``), for
    services of several accounts in one process; None: botocore's default (``AWS_PROFILE``)."""

    partition_key_name: str = Field(default="pk", min_length=1, max_length=255)
    """The table's partition key attribute; models keep calling it ``pk``."""
    sort_key_name: str | None = Field(default="sk", min_length=1, max_length=255)
    """The table's sort key attribute (models call it ``sk``); None: the table has none."""

    max_pool_connections: int = Field(default=50, ge=1, le=1000)
    """Size of the HTTP connection pool shared by all tasks."""
    batch_concurrency: int = Field(default=16, ge=1)
    """Batch chunks in flight at once; at most ``max_pool_connections``."""
    connect_timeout: float = Field(default=1.5, gt=0)
    """Seconds to establish a connection."""
    read_timeout: float = Field(default=5.0, gt=0)
    """Seconds to wait for a response once the request is sent."""
    max_attempts: int = Field(default=3, ge=1, le=20)
    """Tries per request (botocore standard retry mode: throttling, 5xx, connection errors)."""
    batch_max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries per batch chunk while DynamoDB returns unprocessed items or keys."""
    batch_backoff_base: float = Field(default=0.05, gt=0)
    """First backoff ceiling in seconds; doubles on each retry (full jitter)."""
    batch_backoff_max: float = Field(default=2.0, gt=0)
    """Largest backoff ceiling in seconds."""
    operation_timeout: float = Field(default=10.0, gt=0)
    """Seconds one operation may take, every request, retry and backoff included (for
    ``iter_query``: each page). Closing the service waits this long for running ones."""
    return_consumed_capacity: bool = False
    """Ask DynamoDB for consumed capacity and log it with each operation."""
    cursor_secret: SecretStr | None = None
    """Signs ``next_cursor`` tokens (HMAC-SHA256): an altered, forged or foreign token is
    refused. At least 16 characters; never shown in ``repr`` or logs."""
    fast_path: bool = True
    """Send the item operations (get, put, update, delete, query, scan, batches,
    transactions) as plain signed JSON over aiohttp, on the credentials, region and
    endpoint aioboto3 resolves; off, every request goes through the aioboto3 client.
    Results, errors, retries, timeouts and log records are the same either way."""

    @field_validator("cursor_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        # pydantic's own min_length would say "at least 16 items" of a SecretStr.
        if secret is not None and len(secret.get_secret_value()) < MIN_CURSOR_SECRET:
            msg = f"cursor_secret must be at least {MIN_CURSOR_SECRET} characters"
            raise ValueError(msg)
        return secret

    @classmethod
    def from_env(
        cls,
        env_file: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,  # noqa: ANN401 - any field of this model
    ) -> Self:
        """Settings from environment variables and a ``.env`` file, the way AWS tools read them.

        - ``table_name``: ``DYNAMODB_TABLE_NAME``;
        - ``region``: ``AWS_REGION``, ``AWS_DEFAULT_REGION``, else the region of the AWS
          profile in ``~/.aws/config`` (botocore's choice: ``AWS_PROFILE`` from the process
          environment, or ``default``);
        - ``endpoint_url``: ``DYNAMODB_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_DYNAMODB``,
          ``AWS_ENDPOINT_URL``; none means DynamoDB itself;
        - credentials: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
          ``AWS_SESSION_TOKEN``; none means the standard AWS chain (profiles, SSO,
          instance and container roles), which reads the process environment only, so
          ``AWS_PROFILE`` belongs there rather than in ``env_file``;
        - tuning fields: ``DYNAMODB_`` and the field name in capitals, e.g.
          ``DYNAMODB_MAX_ATTEMPTS=5``, ``DYNAMODB_RETURN_CONSUMED_CAPACITY=true``.

        Where several variables name one field, the first that is set and non-empty
        wins. The process environment wins over ``env_file`` (as with
        ``dotenv.load_dotenv``); the file is read without changing ``os.environ``.
        Keyword ``overrides`` win over both. Reading ``env_file`` needs python-dotenv
        (``pip install 'lvrgd-common[dotenv]'``); the environment alone does not.

        Examples:
            >>> config = DynamoDBConfig.from_env(".env", read_timeout=2.0)

        Args:
            env_file: A ``.env`` file to read as well; a missing file is an error.
            environ: Variables to read instead of ``os.environ``.
            **overrides: Field values that win over every variable.

        Raises:
            ValueError: No table name or region found, or a value is invalid (then a
                `pydantic.ValidationError`, which is a `ValueError`).
            FileNotFoundError: ``env_file`` does not exist.
            ImportError: ``env_file`` is given but python-dotenv is not installed.
        """
        variables = dict(_read_env_file(env_file)) if env_file is not None else {}
        variables.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for field in cls.model_fields:
            names = _CONNECTION_VARIABLES.get(field, (f"DYNAMODB_{field.upper()}",))
            found = next((variables[name] for name in names if variables.get(name)), None)
            if found is not None:
                values[field] = found
        if "region" not in values and "region" not in overrides:
            profile_region = _profile_region()
            if profile_region:
                values["region"] = profile_region
        values.update(overrides)
        missing = [
            " or ".join(_CONNECTION_VARIABLES[field])
            for field in ("table_name", "region")
            if values.get(field) is None
        ]
        if missing:
            msg = f"DynamoDBConfig.from_env: set {' and '.join(missing)}"
            raise ValueError(msg)
        return cls.model_validate(values)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.batch_concurrency > self.max_pool_connections:
            msg = "batch_concurrency must not exceed max_pool_connections"
            raise ValueError(msg)
        if self.partition_key_name == self.sort_key_name:
            msg = "partition_key_name and sort_key_name must differ"
            raise ValueError(msg)
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            msg = "aws_access_key_id and aws_secret_access_key go together"
            raise ValueError(msg)
        return self


def _read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    try:
        from dotenv import dotenv_values  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        msg = (
            "reading a .env file needs python-dotenv: pip install 'lvrgd-common[dotenv]' "
            "(or set the variables in the environment)"
        )
        raise ImportError(msg) from exc
    if not os.path.isfile(path):  # noqa: PTH113 - str or PathLike alike
        msg = f"env file not found: {os.fspath(path)}"
        raise FileNotFoundError(msg)
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _profile_region() -> str | None:
    """The region botocore finds for the profile the credential chain will use too."""
    from botocore.exceptions import BotoCoreError  # noqa: PLC0415 - only needed here
    from botocore.session import Session  # noqa: PLC0415

    try:
        region = Session().get_config_variable("region")
    except BotoCoreError:  # e.g. the profile does not exist: report the missing region
        return None
    return region if isinstance(region, str) and region else None
