"""TLS verified on every request, on both paths, against a throwaway CA.

A scripted HTTPS server presents a certificate from a CA made here. With that CA in
``AWS_CA_BUNDLE`` (or the config file's ``ca_bundle``), the right certificate is accepted;
one for another host, or one from a CA nobody trusts, is refused: through the lean path,
through the aioboto3 client (``fast_path=False``), and for DescribeTable (``ping``), which
always goes through the client. A CA bundle that is missing or unreadable fails ``open()``
with a `DynamoDBServiceError`, leaving nothing installed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from aiobotocore.httpsession import AIOHTTPSession
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lvrgd_common import (
    DynamoDBBaseModel,
    DynamoDBConfig,
    DynamoDBService,
    DynamoDBServiceError,
    DynamoDBUnavailableError,
    LoggingService,
)
from lvrgd_common.services._dynamodb.transport.redaction import BOTOCORE_LOGGERS
from tests.http_server import answer, serving

if TYPE_CHECKING:
    from pathlib import Path


class Note(DynamoDBBaseModel):
    text: str = "hi"


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def make(cls, name: str) -> Authority:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def issue(self, tmp: Path, name: str, san: x509.GeneralName) -> ssl.SSLContext:
        """A server context presenting a certificate for ``san``, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_file, key_file = tmp / f"{name}.pem", tmp / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context

    def bundle(self, tmp: Path) -> Path:
        path = tmp / "ca.pem"
        path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        return path


LOOPBACK = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
OTHER_HOST = x509.DNSName("dynamodb.other.example")


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Authority:
    """A throwaway CA, trusted through ``AWS_CA_BUNDLE``; no proxy, no profile files."""
    made = Authority.make("lvrgd throwaway CA")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(made.bundle(tmp_path)))
    return made


def settings(url: str, path: str) -> DynamoDBConfig:
    return DynamoDBConfig(
        table_name="tls-table",
        region="eu-west-1",
        endpoint_url=url,
        aws_access_key_id="AKIDTLS",
        aws_secret_access_key="tls-secret",
        fast_path=path == "lean",
        max_attempts=1,
    )


PATHS = ["lean", "aioboto3"]
TABLE = {
    "TableStatus": "ACTIVE",
    "KeySchema": [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
}


@pytest.mark.parametrize("path", PATHS)
async def test_the_right_ca_and_host_are_accepted(
    authority: Authority, tmp_path: Path, path: str
) -> None:
    server_tls = authority.issue(tmp_path, "server", LOOPBACK)
    async with serving(server_tls) as server:
        server.answers = [answer(200, {"Table": TABLE})]
        async with DynamoDBService(LoggingService(), settings(server.url, path)) as service:
            assert await service.ping()
            assert await service.get_one("p", "s", Note) is None
    assert [request.target for request in server.received] == ["DescribeTable", "GetItem"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fault", ["hostname_mismatch", "untrusted_ca"])
async def test_a_certificate_for_another_host_or_from_an_untrusted_ca_is_refused(
    authority: Authority, tmp_path: Path, path: str, fault: str
) -> None:
    if fault == "hostname_mismatch":
        server_tls = authority.issue(tmp_path, "other", OTHER_HOST)
    else:
        server_tls = Authority.make("nobody trusts me").issue(tmp_path, "rogue", LOOPBACK)
    async with (
        serving(server_tls) as server,
        DynamoDBService(LoggingService(), settings(server.url, path)) as service,
    ):
        assert not await service.ping()  # DescribeTable: always the aioboto3 client
        with pytest.raises(DynamoDBUnavailableError) as caught:
            await service.get_one("p", "s", Note)
    assert "SSL" in str(caught.value)
    assert server.received == []  # no request was ever sent over the refused connection


@pytest.mark.parametrize("path", PATHS)
async def test_the_config_files_ca_bundle_is_honoured(
    authority: Authority, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.delenv("AWS_CA_BUNDLE")
    config_file = tmp_path / "aws-config"
    config_file.write_text(f"[default]\nca_bundle = {authority.bundle(tmp_path)}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    server_tls = authority.issue(tmp_path, "server", LOOPBACK)
    async with (
        serving(server_tls) as server,
        DynamoDBService(LoggingService(), settings(server.url, path)) as service,
    ):
        assert await service.get_one("p", "s", Note) is None
    assert len(server.received) == 1


def installed_filters() -> list[list[logging.Filterer | object]]:
    return [list(logging.getLogger(name).filters) for name in BOTOCORE_LOGGERS]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("bundle", ["missing", "not_a_certificate", "a_directory"])
async def test_a_bad_ca_bundle_fails_open_cleanly(
    authority: Authority,  # noqa: ARG001 - the environment it sets up
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    bundle: str,
) -> None:
    bad = tmp_path / "bad-bundle.pem"
    if bundle == "not_a_certificate":
        bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n")
    elif bundle == "a_directory":
        bad.mkdir()
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bad))
    before = installed_filters()
    service = DynamoDBService(LoggingService(), settings("https://127.0.0.1:9", path))
    with pytest.raises(DynamoDBServiceError) as caught:
        await service.open()
    assert type(caught.value) is DynamoDBServiceError
    assert str(bad) in str(caught.value)
    assert caught.value.operation == "open"
    assert installed_filters() == before  # the credential mask is not left behind
    await service.close()


@pytest.mark.parametrize("path", PATHS)
async def test_an_aiobotocore_without_the_tls_hook_fails_open_rather_than_skip_hostnames(
    authority: Authority,  # noqa: ARG001 - the environment it sets up
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    monkeypatch.delattr(AIOHTTPSession, "_get_ssl_context")
    before = installed_filters()
    service = DynamoDBService(LoggingService(), settings("https://127.0.0.1:9", path))
    with pytest.raises(DynamoDBServiceError, match="_get_ssl_context") as caught:
        await service.open()
    assert caught.value.operation == "open"
    assert installed_filters() == before
