"""Prototype: aioboto3's credentials, signer and HTTP session with JSON done by hand.

It keeps aioboto3's credentials, SigV4 signer and HTTP session and drops botocore's
request serialization, validation, endpoint rules, retry machinery and response parsing.

The request body is DynamoDB's JSON built from the library's codec output, and the
response is ``json.loads`` straight into the codec's decoder. It handles what the
benchmark needs (GetItem, BatchWriteItem; no binary attributes, no error translation,
no retries beyond unprocessed items and closed connections) and exists only to measure
what such a path would save. It is not used by the library.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Final, TypeVar

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError

from lvrgd_common.services._dynamodb.batching import MAX_BATCH_WRITE, chunked
from lvrgd_common.services._dynamodb.codec import decode_item
from lvrgd_common.services._dynamodb.keys import DEFAULT_NAMES, TableKeys
from lvrgd_common.services._dynamodb.requests import encoded_item

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lvrgd_common import DynamoDBBaseModel

T = TypeVar("T", bound="DynamoDBBaseModel")

_TARGET_PREFIX: Final = "DynamoDB_20120810."
_CONTENT_TYPE: Final = "application/x-amz-json-1.0"
_HTTP_OK: Final = 200
# Like botocore, try again when a pooled connection turns out to be closed by the server.
_ATTEMPTS: Final = 3


DEFAULT_KEYS = TableKeys(*DEFAULT_NAMES)


class DirectDynamoDB:
    """GetItem and BatchWriteItem over aioboto3's signer and HTTP session."""

    def __init__(
        self,
        http_session: Any,  # noqa: ANN401 - aiobotocore's AIOHTTPSession
        credentials: Any,  # noqa: ANN401 - aiobotocore's credentials
        endpoint_url: str,
        region: str,
        table: str,
    ) -> None:
        self._http = http_session
        self._credentials = credentials
        self._url = endpoint_url.rstrip("/") + "/"
        self._region = region
        self._table = table

    @classmethod
    async def from_client(cls, client: Any, table: str) -> DirectDynamoDB:  # noqa: ANN401
        """Borrow the HTTP session and credentials of an open aioboto3 client."""
        return cls(
            client._endpoint.http_session,
            client._request_signer._credentials,
            client.meta.endpoint_url,
            client.meta.region_name,
            table,
        )

    async def call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Sign and send one request; the parsed JSON response."""
        body = json.dumps(request, separators=(",", ":")).encode()
        aws_request = AWSRequest(
            method="POST",
            url=self._url,
            data=body,
            headers={"X-Amz-Target": _TARGET_PREFIX + operation, "Content-Type": _CONTENT_TYPE},
        )
        # What aiobotocore's signer does per request: freeze (refreshable) credentials, sign.
        frozen = await self._credentials.get_frozen_credentials()
        SigV4Auth(frozen, "dynamodb", self._region).add_auth(aws_request)
        prepared = aws_request.prepare()
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._http.send(prepared)
                break
            except (BotocoreConnectionError, HTTPClientError):
                if attempt == _ATTEMPTS - 1:
                    raise
        content = await response.content
        if response.status_code != _HTTP_OK:
            msg = f"{operation} failed with HTTP {response.status_code}: {content[:200]!r}"
            raise RuntimeError(msg)
        parsed: dict[str, Any] = json.loads(content)
        return parsed

    async def get_one(self, pk: str, sk: str, model_class: type[T]) -> T | None:
        """GetItem, decoded into ``model_class``."""
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        response = await self.call("GetItem", {"TableName": self._table, "Key": key})
        raw = response.get("Item")
        return None if raw is None else model_class.model_validate(decode_item(raw))

    async def batch_write(self, items: Sequence[DynamoDBBaseModel], concurrency: int) -> None:
        """BatchWriteItem in chunks of 25, ``concurrency`` chunks in flight."""
        requests = [{"PutRequest": {"Item": encoded_item(item, DEFAULT_KEYS)[1]}} for item in items]
        chunks = iter(chunked(requests, MAX_BATCH_WRITE))

        async def worker() -> None:
            for chunk in chunks:
                pending = list(chunk)
                while pending:
                    response = await self.call(
                        "BatchWriteItem", {"RequestItems": {self._table: pending}}
                    )
                    pending = response.get("UnprocessedItems", {}).get(self._table, [])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
