"""`DynamoDBConfig.from_env`: environment, ``.env`` file, AWS profile region, overrides."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from lvrgd_common import DynamoDBConfig

if TYPE_CHECKING:
    from pathlib import Path

READ_VARIABLES = (
    "DYNAMODB_TABLE_NAME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "DYNAMODB_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "DYNAMODB_MAX_ATTEMPTS",
    "DYNAMODB_READ_TIMEOUT",
    "DYNAMODB_RETURN_CONSUMED_CAPACITY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of the developer's shell and no real AWS config file leaks in."""
    for name in READ_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))


def test_reads_table_region_endpoint_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "orders")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")

    config = DynamoDBConfig.from_env()

    assert config.table_name == "orders"
    assert config.region == "eu-west-1"
    assert config.endpoint_url == "http://127.0.0.1:8000"
    assert config.aws_access_key_id == "AKIDEXAMPLE"
    assert config.aws_secret_access_key is not None
    assert config.aws_secret_access_key.get_secret_value() == "very-secret-value"
    assert config.aws_session_token is not None
    assert config.aws_session_token.get_secret_value() == "session-token-value"
    assert "very-secret-value" not in repr(config)
    assert "session-token-value" not in str(config)


def test_without_credentials_the_standard_aws_chain_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "orders")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")

    config = DynamoDBConfig.from_env()

    assert config.region == "us-west-2"
    assert config.endpoint_url is None
    assert config.aws_access_key_id is None
    assert config.aws_secret_access_key is None
    assert config.aws_session_token is None


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-east-2"}, "eu-central-1"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-2"}, "us-east-2"),
        ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
    ],
)
def test_aws_region_wins_over_aws_default_region_and_empty_means_unset(
    variables: dict[str, str], expected: str
) -> None:
    config = DynamoDBConfig.from_env(environ={"DYNAMODB_TABLE_NAME": "orders", **variables})
    assert config.region == expected


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {
                "DYNAMODB_ENDPOINT_URL": "http://project:1",
                "AWS_ENDPOINT_URL_DYNAMODB": "http://service:2",
                "AWS_ENDPOINT_URL": "http://global:3",
            },
            "http://project:1",
        ),
        (
            {
                "AWS_ENDPOINT_URL_DYNAMODB": "http://service:2",
                "AWS_ENDPOINT_URL": "http://global:3",
            },
            "http://service:2",
        ),
        ({"AWS_ENDPOINT_URL": "http://global:3"}, "http://global:3"),
        ({}, None),
    ],
)
def test_endpoint_precedence(variables: dict[str, str], expected: str | None) -> None:
    base = {"DYNAMODB_TABLE_NAME": "orders", "AWS_REGION": "us-east-1"}
    assert DynamoDBConfig.from_env(environ={**base, **variables}).endpoint_url == expected


def test_tuning_fields_come_from_dynamodb_prefixed_variables() -> None:
    config = DynamoDBConfig.from_env(
        environ={
            "DYNAMODB_TABLE_NAME": "orders",
            "AWS_REGION": "us-east-1",
            "DYNAMODB_MAX_ATTEMPTS": "7",
            "DYNAMODB_READ_TIMEOUT": "2.5",
            "DYNAMODB_BATCH_CONCURRENCY": "4",
            "DYNAMODB_RETURN_CONSUMED_CAPACITY": "true",
        }
    )
    assert config.max_attempts == 7
    assert config.read_timeout == 2.5
    assert config.batch_concurrency == 4
    assert config.return_consumed_capacity is True
    assert config.connect_timeout == DynamoDBConfig.model_fields["connect_timeout"].default


def test_an_invalid_tuning_value_names_the_field() -> None:
    environ = {
        "DYNAMODB_TABLE_NAME": "orders",
        "AWS_REGION": "us-east-1",
        "DYNAMODB_MAX_ATTEMPTS": "many",
    }
    with pytest.raises(ValidationError, match="max_attempts"):
        DynamoDBConfig.from_env(environ=environ)


def test_half_of_a_key_pair_is_refused() -> None:
    environ = {
        "DYNAMODB_TABLE_NAME": "orders",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    }
    with pytest.raises(ValueError, match="go together"):
        DynamoDBConfig.from_env(environ=environ)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"AWS_REGION": "us-east-1"}, "DYNAMODB_TABLE_NAME"),
        ({"DYNAMODB_TABLE_NAME": "orders"}, "AWS_REGION or AWS_DEFAULT_REGION"),
    ],
)
def test_a_missing_table_or_region_names_the_variables(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        DynamoDBConfig.from_env(environ=environ)


def test_keyword_overrides_win_over_environment_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DYNAMODB_TABLE_NAME=from-file\nDYNAMODB_ENDPOINT_URL=http://file:1\n")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("DYNAMODB_ENDPOINT_URL", "http://env:2")

    config = DynamoDBConfig.from_env(
        env_file, table_name="from-code", region="us-east-1", endpoint_url=None
    )

    assert (config.table_name, config.region, config.endpoint_url) == (
        "from-code",
        "us-east-1",
        None,
    )


def test_env_file_is_read_and_the_environment_wins_without_being_changed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# local development\n"
        "DYNAMODB_TABLE_NAME=from-file\n"
        "AWS_REGION=eu-north-1\n"
        'DYNAMODB_ENDPOINT_URL="http://127.0.0.1:4566"\n'
        "AWS_ACCESS_KEY_ID=file-key\n"
        "AWS_SECRET_ACCESS_KEY=file-secret\n"
    )
    monkeypatch.setenv("AWS_REGION", "us-east-2")

    config = DynamoDBConfig.from_env(env_file)

    assert config.table_name == "from-file"
    assert config.region == "us-east-2"
    assert config.endpoint_url == "http://127.0.0.1:4566"
    assert config.aws_access_key_id == "file-key"
    assert "DYNAMODB_TABLE_NAME" not in os.environ
    assert "AWS_ACCESS_KEY_ID" not in os.environ


def test_a_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.env"):
        DynamoDBConfig.from_env(tmp_path / "absent.env")


def test_env_file_without_python_dotenv_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DYNAMODB_TABLE_NAME=orders\nAWS_REGION=us-east-1\n")
    monkeypatch.setitem(sys.modules, "dotenv", None)  # makes `import dotenv` fail

    with pytest.raises(ImportError, match=r"lvrgd-common\[dotenv\]"):
        DynamoDBConfig.from_env(env_file)
    # The environment alone still works without python-dotenv.
    environ = {"DYNAMODB_TABLE_NAME": "orders", "AWS_REGION": "us-east-1"}
    assert DynamoDBConfig.from_env(environ=environ).table_name == "orders"


@pytest.mark.parametrize(("profile", "expected"), [(None, "eu-west-3"), ("dev", "sa-east-1")])
def test_region_falls_back_to_the_aws_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, profile: str | None, expected: str
) -> None:
    aws_config = tmp_path / "config"
    aws_config.write_text("[default]\nregion = eu-west-3\n\n[profile dev]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    if profile is not None:
        monkeypatch.setenv("AWS_PROFILE", profile)
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "orders")

    assert DynamoDBConfig.from_env().region == expected


def test_an_unknown_profile_reports_the_missing_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    monkeypatch.setenv("DYNAMODB_TABLE_NAME", "orders")
    with pytest.raises(ValueError, match="AWS_REGION"):
        DynamoDBConfig.from_env()
