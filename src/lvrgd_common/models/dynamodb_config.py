"""Connection and tuning settings for `DynamoDBService`."""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["DynamoDBConfig"]


class DynamoDBConfig(BaseModel):
    """Where the table is, how to authenticate, and how hard to try.

    Without explicit credentials the standard AWS chain applies (environment, profiles,
    instance and container roles). The secret is a `SecretStr`: it shows as ``**********``
    in ``repr``, ``str`` and logs.

    The defaults fail an operation against an unreachable endpoint within about 8 seconds:
    ``max_attempts`` tries of ``connect_timeout`` each, with botocore's backoff in between.
    """

    # hide_input_in_errors: a refused configuration must not quote the secret it was given.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    table_name: str = Field(min_length=3, max_length=255, pattern=r"^[A-Za-z0-9_.\-]+$")
    region: str = Field(min_length=1)
    endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_session_token: SecretStr | None = None

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
    return_consumed_capacity: bool = False
    """Ask DynamoDB for consumed capacity and log it with each operation."""

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.batch_concurrency > self.max_pool_connections:
            msg = "batch_concurrency must not exceed max_pool_connections"
            raise ValueError(msg)
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            msg = "aws_access_key_id and aws_secret_access_key go together"
            raise ValueError(msg)
        return self
