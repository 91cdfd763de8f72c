"""What a DynamoDB answer is, and what a failed attempt may have done: one place, both paths.

Both request paths ask this module the same two questions:

- `judge`: is this HTTP answer DynamoDB's? A DynamoDB answer is a JSON object whose
  ``x-amz-crc32`` (when sent) matches its bytes, and an error answer names its code in
  ``__type`` (or, refused by AWS's front end with a 4xx, an XML error document, which
  botocore reads with the status as its code). Anything else (an HTML page from a captive
  portal or a proxy, a body that is not JSON or not an object, a checksum that never
  matches, a bare 5xx) is
  `NotDynamoDBAnswerError`, which leaves the service as `DynamoDBUnavailableError` with the
  status and a short excerpt: it is never read as "absent" or as "written".
- `maybe_applied`: after a failed attempt of a write, may DynamoDB have applied it? *Not
  sent*: the connection could not be made (refused, connect timeout, TLS handshake, proxy)
  or DynamoDB answered with an error code below 500 (throttling, validation, a failed
  condition). *Maybe applied*: the request left and no answer came (read timeout, the
  connection dropped after sending), a 5xx, or an answer that is not DynamoDB's.

`Attempts` follows one call across its retries: a write that is not idempotent is not
retried after a maybe-applied attempt, and a condition that fails after one is not a
conflict. Both end as `AmbiguousWriteError`, which leaves the service as
`DynamoDBAmbiguousWriteError`.
"""

from __future__ import annotations

import re
from binascii import crc32
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

import orjson
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from lvrgd_common.models.update_actions import Append, Increment, Prepend

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "NOT_DYNAMODB",
    "AmbiguousWriteError",
    "Attempts",
    "NotDynamoDBAnswerError",
    "accumulates",
    "is_condition_failure",
    "judge",
    "maybe_applied",
]

EXCERPT_CHARS: Final = 80
# The key under which the aioboto3 path's parse hook leaves its verdict on a parsed answer.
NOT_DYNAMODB: Final = "LvrgdNotDynamoDBAnswer"
_CONDITION_FAILED: Final = "ConditionalCheckFailedException"
_CANCELLED: Final = "TransactionCanceledException"
# An AWS error document in XML (``<ErrorResponse>...<Code>...</Code>``).
_AWS_XML_ERROR: Final = re.compile(rb"<Error(?:Response)?>.*<Code>[^<]+</Code>", re.DOTALL)
# DynamoDB's codes of a 5xx, for an error that lacks its status.
_SERVER_FAULTS: Final = frozenset(
    {"InternalServerError", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException"}
)


class NotDynamoDBAnswerError(Exception):
    """An HTTP answer that is not DynamoDB's: its status, what is wrong, and an excerpt."""

    def __init__(self, status: int, problem: str, excerpt: str) -> None:
        self.status = status
        self.problem = problem
        self.excerpt = excerpt
        super().__init__(
            f"not a DynamoDB answer: {problem} (HTTP {status}, body starts {excerpt!r})"
        )

    @property
    def checksum(self) -> bool:
        """Whether only the checksum is wrong (retried, as botocore retries it)."""
        return self.problem == CHECKSUM_PROBLEM


CHECKSUM_PROBLEM: Final = "its x-amz-crc32 does not match its body"


class AmbiguousWriteError(Exception):
    """A write that may or may not have been applied; ``cause`` is the last failure."""

    def __init__(self, cause: BaseException, *, condition_failed: bool = False) -> None:
        self.cause = cause
        self.condition_failed = condition_failed
        if condition_failed:
            what = (
                "an attempt's answer was lost, and the retry's condition failed, "
                "perhaps because the lost attempt had been applied"
            )
        else:
            what = "the request may have reached DynamoDB and its answer was lost"
        super().__init__(f"{what} ({type(cause).__name__}: {cause})")


def excerpt(body: bytes) -> str:
    """The body's first characters, as text on one line."""
    text = body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    return " ".join(text.split())[:EXCERPT_CHARS]


def judge(status: int, headers: Mapping[str, str], body: bytes) -> Any:  # noqa: ANN401
    """The answer's JSON object; raises when it is not a DynamoDB answer.

    ``headers`` are keyed in lower case.

    Raises:
        NotDynamoDBAnswerError: A checksum that does not match, a body that is not a JSON
            object, or an error answer without a DynamoDB error code.
    """
    checksum = headers.get("x-amz-crc32")
    if checksum is not None and (not checksum.isdigit() or crc32(body) != int(checksum)):
        raise NotDynamoDBAnswerError(status, CHECKSUM_PROBLEM, excerpt(body))
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        if HTTPStatus.BAD_REQUEST <= status < HTTPStatus.INTERNAL_SERVER_ERROR and (
            _AWS_XML_ERROR.search(body)
        ):
            # AWS's front end refusing the request (a signature, say) in its XML error
            # form: read as botocore reads it, the status as the code, the body as message.
            return {"__type": str(status), "message": body.decode("utf-8", "replace")}
        problem = "an empty body" if not body.strip() else "a body that is not JSON"
        raise NotDynamoDBAnswerError(status, problem, excerpt(body)) from None
    if not isinstance(parsed, dict):
        problem = f"a JSON {type(parsed).__name__} where DynamoDB sends an object"
        raise NotDynamoDBAnswerError(status, problem, excerpt(body))
    if status >= HTTPStatus.MULTIPLE_CHOICES and not isinstance(parsed.get("__type"), str):
        raise NotDynamoDBAnswerError(status, "an error without a DynamoDB code", excerpt(body))
    return parsed


def maybe_applied(failure: BaseException) -> bool:
    """Whether the failed attempt may have been applied (see the module's docstring)."""
    if isinstance(failure, BotoConnectionError):
        return False  # no connection was made, so nothing was sent
    if isinstance(failure, NotDynamoDBAnswerError):
        return True
    if isinstance(failure, ClientError):
        status = failure.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(status, int):
            return status >= HTTPStatus.INTERNAL_SERVER_ERROR
        return failure.response.get("Error", {}).get("Code") in _SERVER_FAULTS
    return True


def is_condition_failure(failure: BaseException) -> bool:
    """Whether DynamoDB refused the write because a condition did not hold."""
    if not isinstance(failure, ClientError):
        return False
    response: Any = failure.response
    code = response.get("Error", {}).get("Code")
    if code == _CONDITION_FAILED:
        return True
    if code == _CANCELLED:
        reasons = response.get("CancellationReasons") or []
        return any(entry.get("Code") == "ConditionalCheckFailed" for entry in reasons)
    return False


class Attempts:
    """The attempts of one call: whether one may have been applied, and what follows."""

    __slots__ = ("idempotent", "in_doubt")

    def __init__(self, *, idempotent: bool) -> None:
        self.idempotent = idempotent
        self.in_doubt = False

    def failed(self, failure: BaseException) -> None:
        """Note a failed attempt; raises when the call must not be retried after it.

        Raises:
            AmbiguousWriteError: A write that is not idempotent may have been applied.
        """
        if maybe_applied(failure):
            self.in_doubt = True
            if not self.idempotent:
                raise AmbiguousWriteError(failure)

    def final(self, failure: BaseException) -> BaseException:
        """What the call raises for its last failure: ambiguous where it may be."""
        if self.in_doubt and is_condition_failure(failure):
            return AmbiguousWriteError(failure, condition_failed=True)
        return failure


# Update actions that add to what is stored: applied twice, they store another value.
_ACCUMULATING: Final = (Increment, Append, Prepend)


def accumulates(updates: Mapping[Any, Any]) -> bool:
    """Whether an update holds `Increment`, `Append` or `Prepend`, which are not idempotent.

    Such an update is never retried once an attempt may have been applied.
    """
    return any(isinstance(value, _ACCUMULATING) for value in updates.values())
