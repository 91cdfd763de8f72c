import importlib
import importlib.resources

import pytest

import lvrgd_common

CONTRACT = {
    "DynamoDBService",
    "DynamoDBConfig",
    "LoggingService",
    "DynamoDBBaseModel",
    "SortKeyCondition",
    "PaginationResult",
    "TransactionWriteItem",
    "DynamoDBServiceError",
    "DynamoDBValidationError",
    "DynamoDBBatchOperationError",
    "DynamoDBTransactionError",
    "DynamoDBLockError",
    "DynamoDBAmbiguousWriteError",
}

MODULES = {
    "lvrgd_common.models.dynamodb_base_model": "DynamoDBBaseModel",
    "lvrgd_common.models.dynamodb_config": "DynamoDBConfig",
    "lvrgd_common.models.sort_key_condition": "SortKeyCondition",
    "lvrgd_common.models.pagination_result": "PaginationResult",
    "lvrgd_common.models.transaction_write_item": "TransactionWriteItem",
    "lvrgd_common.exceptions.dynamodb_exceptions": "DynamoDBServiceError",
    "lvrgd_common.services.dynamodb_service": "DynamoDBService",
    "lvrgd_common.services.logging_service": "LoggingService",
}


def test_all_is_sorted_and_unique() -> None:
    assert list(lvrgd_common.__all__) == sorted(set(lvrgd_common.__all__))


def test_every_name_in_all_is_exported() -> None:
    for name in lvrgd_common.__all__:
        assert getattr(lvrgd_common, name).__name__ == name


def test_the_contracts_names_are_public() -> None:
    assert set(lvrgd_common.__all__) >= CONTRACT


def test_public_classes_say_they_belong_to_the_package() -> None:
    for name in lvrgd_common.__all__:
        assert getattr(lvrgd_common, name).__module__.startswith("lvrgd_common.")


@pytest.mark.parametrize(("module", "name"), sorted(MODULES.items()))
def test_specified_module_paths_export_the_same_objects(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is getattr(lvrgd_common, name)


def test_package_ships_py_typed() -> None:
    files = importlib.resources.files("lvrgd_common")
    assert files.joinpath("py.typed").is_file()


STREAMS_CONTRACT = {"ChangeEvent", "decode_lambda_event"}


def test_the_streams_package_exports_its_contract() -> None:
    streams = importlib.import_module("lvrgd_common.streams")
    assert list(streams.__all__) == sorted(set(streams.__all__))
    assert set(streams.__all__) >= STREAMS_CONTRACT
    for name in streams.__all__:
        assert getattr(streams, name) is not None


def test_the_lock_error_is_a_service_error() -> None:
    assert issubclass(lvrgd_common.DynamoDBLockError, lvrgd_common.DynamoDBServiceError)
