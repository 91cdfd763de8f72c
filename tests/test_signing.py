"""The one-pass SigV4 signer writes the same headers as botocore's SigV4Auth."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

import botocore.auth
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError
from botocore.serialize import JSONSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from lvrgd_common import DynamoDBConfig, DynamoDBService, LoggingService
from lvrgd_common.services._dynamodb.transport import signing
from lvrgd_common.services._dynamodb.transport.signing import (
    SIGNATURE_VERSION,
    FastSigV4Auth,
    signature_version,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes import FakeSessionFactory

NOW = dt.datetime(2025, 3, 9, 23, 59, 58)  # noqa: DTZ001 - botocore's clock is naive UTC
CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)


@contextmanager
def clock(now: dt.datetime) -> Iterator[None]:
    """Both signers read ``now`` as the current time."""
    with (
        mock.patch.object(botocore.auth, "get_current_datetime", return_value=now),
        mock.patch.object(signing, "get_current_datetime", return_value=now),
    ):
        yield


def make_request(url: str, headers: list[tuple[str, str]], data: Any, **context: Any) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=data)
    for name, value in headers:  # HTTPHeaders keeps repeated names, as botocore's do
        request.headers[name] = value
    request.context.update(context)
    return request


def signed_by(
    kind: type[SigV4Auth],
    request: AWSRequest,
    credentials: ReadOnlyCredentials = CREDENTIALS,
    now: dt.datetime = NOW,
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    copy = make_request(str(request.url), list(request.headers.items()), request.data)
    copy.params = request.params
    copy.context.update(request.context)
    with clock(now):
        kind(credentials, "dynamodb", "eu-west-1").add_auth(copy)
    return list(copy.headers.items()), copy.context


def assert_same_signing(
    request: AWSRequest,
    credentials: ReadOnlyCredentials = CREDENTIALS,
    now: dt.datetime = NOW,
) -> None:
    ours = signed_by(FastSigV4Auth, request, credentials, now)
    assert ours == signed_by(SigV4Auth, request, credentials, now)
    assert any(name == "Authorization" for name, _ in ours[0])


_names = st.sampled_from(
    [
        "Content-Type",
        "X-Amz-Target",
        "X-Custom",
        "x-custom",
        "User-Agent",
        "Expect",
        "X-Amzn-Trace-Id",
        "amz-sdk-invocation-id",
        "Authorization",
        "X-Amz-Date",
        "X-Amz-Security-Token",
        "Host",
        "Content-Length",
    ]
)
_values = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
_urls = st.sampled_from(
    [
        "https://dynamodb.eu-west-1.amazonaws.com/",
        "https://dynamodb.eu-west-1.amazonaws.com:443/",
        "https://123456789012.ddb.eu-west-1.amazonaws.com",
        "http://127.0.0.1:8000/",
        "http://LOCALHOST:80/",
        "http://[::1]:4566/",
        "http://user:pw@example.com:8080/prefix/a b/../c/",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    url=_urls,
    headers=st.lists(st.tuples(_names, _values), max_size=8),
    body=st.binary(max_size=64),
    token=st.one_of(st.none(), st.text(st.characters(min_codepoint=33, max_codepoint=126))),
)
def test_plain_requests_are_signed_exactly_as_botocore_does(
    url: str, headers: list[tuple[str, str]], body: bytes, token: str | None
) -> None:
    credentials = CREDENTIALS._replace(token=token)
    request = make_request(url, headers, body)
    assert_same_signing(request, credentials)
    with mock.patch.object(SigV4Auth, "add_auth", autospec=True) as botocore_add_auth:
        signed_by(FastSigV4Auth, request, credentials)
    assert not botocore_add_auth.called  # the one-pass path signed it


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (make_request("https://h/", [], b"{}", payload_signing_enabled=False), "unsigned body"),
        (make_request("https://h/?b=2&a=1", [], b"{}"), "query string"),
        (make_request("https://h/", [("Date", "Sun, 09 Mar 2025 23:59:58 GMT")], b""), "Date"),
        (make_request("https://h/", [("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD")], b""), "sha"),
        (make_request("https://h/", [], {"Action": "List", "b": "x y"}), "form body"),
        (make_request("https://h/", [], None), "no body"),
        (
            make_request(
                "https://h/", [], b"{}", checksum={"request_algorithm": {"in": "trailer"}}
            ),
            "streamed checksum",
        ),
    ],
)
def test_other_requests_take_botocores_path(request_: AWSRequest, why: str) -> None:
    with mock.patch.object(SigV4Auth, "add_auth", autospec=True) as botocore_add_auth:
        FastSigV4Auth(CREDENTIALS, "dynamodb", "eu-west-1").add_auth(request_)
    assert botocore_add_auth.called, why
    assert_same_signing(request_)


def test_query_parameters_take_botocores_path() -> None:
    request = make_request("https://h/", [], b"{}")
    request.params = {"b": "2", "a": "1"}
    with mock.patch.object(SigV4Auth, "add_auth", autospec=True) as botocore_add_auth:
        FastSigV4Auth(CREDENTIALS, "dynamodb", "eu-west-1").add_auth(request)
    assert botocore_add_auth.called
    assert_same_signing(request)


def test_a_request_from_the_dynamodb_serializer_is_signed_as_botocore_does() -> None:
    model = botocore.session.get_session().get_service_model("dynamodb")
    serialized = JSONSerializer().serialize_to_request(
        {"TableName": "t", "Key": {"pk": {"S": "p"}, "sk": {"S": "s"}}},
        model.operation_model("GetItem"),
    )
    request = AWSRequest(
        method=serialized["method"],
        url="https://dynamodb.eu-west-1.amazonaws.com/",
        headers=serialized["headers"],
        data=serialized["body"],
    )
    assert_same_signing(request, CREDENTIALS._replace(token="FwoGZXIvYXdzEB0aDP//token"))


def test_refreshed_credentials_and_a_new_day_sign_with_their_own_key() -> None:
    """The kept signing key belongs to one secret and one date, never to the next."""
    request = make_request("https://h/", [("X-Amz-Target", "DynamoDB_20120810.GetItem")], b"{}")
    later = NOW + dt.timedelta(seconds=5)  # the next day, UTC
    refreshed = ReadOnlyCredentials("ASIANEXT", "another-secret", "session-token")
    authorizations = set()
    for credentials, now in ((CREDENTIALS, NOW), (refreshed, NOW), (CREDENTIALS, later)):
        ours = signed_by(FastSigV4Auth, request, credentials, now)
        assert ours == signed_by(SigV4Auth, request, credentials, now)
        authorizations.add(dict(ours[0])["Authorization"])
    assert len(authorizations) == 3


def test_missing_credentials_are_refused() -> None:
    with pytest.raises(NoCredentialsError):
        FastSigV4Auth(None, "dynamodb", "eu-west-1").add_auth(make_request("https://h/", [], b""))


async def test_the_service_signs_with_it_where_botocores_signer_is_the_pure_python_one(
    config: DynamoDBConfig, sessions: FakeSessionFactory
) -> None:
    async with DynamoDBService(LoggingService(), config):
        pass
    assert sessions.made[0].client_kwargs["config"].signature_version == SIGNATURE_VERSION
    assert botocore.auth.AUTH_TYPE_MAPS[SIGNATURE_VERSION] is FastSigV4Auth


async def test_the_service_keeps_botocores_default_when_v4_is_another_signer(
    config: DynamoDBConfig, sessions: FakeSessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with the CRT installed, which replaces ``v4`` with its own signer."""

    class OtherSigner(SigV4Auth):
        pass

    monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "v4", OtherSigner)
    assert signature_version() is None
    async with DynamoDBService(LoggingService(), config):
        pass
    assert sessions.made[0].client_kwargs["config"].signature_version is None
