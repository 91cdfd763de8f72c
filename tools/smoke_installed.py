"""Run with a clean venv's python where only the built wheel is installed.

Checks that the public API imports from the installed copy (not the source tree), that
``py.typed`` and the version are installed, and that a service opens and closes without
any server. Usage: VENV/bin/python tools/smoke_installed.py
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import sys
from pathlib import Path

import lvrgd_common

SPEC_MODULES = {
    "lvrgd_common.models.dynamodb_base_model": "DynamoDBBaseModel",
    "lvrgd_common.models.dynamodb_config": "DynamoDBConfig",
    "lvrgd_common.models.sort_key_condition": "SortKeyCondition",
    "lvrgd_common.models.pagination_result": "PaginationResult",
    "lvrgd_common.models.transaction_write_item": "TransactionWriteItem",
    "lvrgd_common.exceptions.dynamodb_exceptions": "DynamoDBServiceError",
    "lvrgd_common.services.dynamodb_service": "DynamoDBService",
    "lvrgd_common.services.logging_service": "LoggingService",
    "lvrgd_common.testing": "create_table",
    "lvrgd_common.sync": "DynamoDBService",
    "lvrgd_common.streams": "decode_lambda_event",
}
EXPECTED_STATES = "open) -> DynamoDBService(table='smoke', region='us-east-1', closed)"


def check(condition: object, message: str) -> None:
    """Exit with ``message`` unless ``condition`` holds."""
    if not condition:
        sys.exit(f"smoke test failed: {message}")


async def open_and_close(config: lvrgd_common.DynamoDBConfig) -> str:
    """The service's repr while open and after closing; opening sends no request."""
    service = lvrgd_common.DynamoDBService(lvrgd_common.LoggingService(), config)
    async with service:
        opened = repr(service)
    return f"{opened} -> {service!r}"


def main() -> None:
    """Exit non-zero at the first failed check; print one line when all hold."""
    location = Path(lvrgd_common.__file__).resolve()
    check(Path(sys.prefix).resolve() in location.parents, f"imported from {location}")
    missing = [name for name in lvrgd_common.__all__ if not hasattr(lvrgd_common, name)]
    check(not missing, f"__all__ names missing: {missing}")
    for module_name, attribute in SPEC_MODULES.items():
        check(hasattr(importlib.import_module(module_name), attribute), module_name)
    typed_marker = importlib.resources.files("lvrgd_common").joinpath("py.typed")
    check(typed_marker.is_file(), "py.typed is not installed")
    installed = importlib.metadata.version("lvrgd-common")
    check(installed == lvrgd_common.__version__, f"{installed} != {lvrgd_common.__version__}")

    config = lvrgd_common.DynamoDBConfig.from_env(
        environ={"DYNAMODB_TABLE_NAME": "smoke", "AWS_REGION": "us-east-1"},
        aws_access_key_id="smoke",
        aws_secret_access_key="smoke-secret",  # noqa: S106 - never sent anywhere
    )
    check("smoke-secret" not in repr(config), "the secret shows in repr")
    states = asyncio.run(open_and_close(config))
    check(states.endswith(EXPECTED_STATES), states)

    # python-dotenv is optional: without it only reading a .env file fails, saying why.
    check(importlib.util.find_spec("dotenv") is None, "python-dotenv is in the clean venv")
    try:
        lvrgd_common.DynamoDBConfig.from_env("missing.env")
    except ImportError as exc:
        check("lvrgd-common[dotenv]" in str(exc), f"unclear error: {exc}")
    else:
        sys.exit("smoke test failed: from_env(env_file) without python-dotenv did not raise")

    # moto is the testing extra: without it, moto_server() says which extra to install.
    from lvrgd_common.testing import moto_server  # noqa: PLC0415 - after the import checks

    check(importlib.util.find_spec("moto") is None, "moto is in the clean venv")
    try:
        moto_server()
    except ModuleNotFoundError as exc:
        check("lvrgd-common[testing]" in str(exc), f"unclear error: {exc}")
    else:
        sys.exit("smoke test failed: moto_server() without moto did not raise")

    # OpenTelemetry is optional too: without it nothing is traced and nothing imports it.
    check(importlib.util.find_spec("opentelemetry") is None, "opentelemetry is in the clean venv")
    check("opentelemetry" not in sys.modules, "opentelemetry was imported")

    count = len(lvrgd_common.__all__)
    print(f"installed wheel ok: lvrgd-common {installed}, {count} public names import")


if __name__ == "__main__":
    main()
