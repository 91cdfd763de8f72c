"""A stand-in for aioboto3's low-level DynamoDB client, scripted per API call."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from botocore.hooks import HierarchicalEmitter

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def client_error(code: str, message: str = "boom", **extra: Any) -> ClientError:
    """A botocore ClientError as the client raises it for an AWS error response."""
    response: Any = {"Error": {"Code": code, "Message": message}, **extra}
    return ClientError(response, "Operation")


@dataclass
class Call:
    api: str
    request: dict[str, Any]


@dataclass
class FakeDynamoDB:
    """Records every call; answers with a handler per API (default: an empty response)."""

    calls: list[Call] = field(default_factory=list)
    handlers: dict[str, Any] = field(default_factory=dict)
    delay: float = 0.0
    in_flight: int = 0
    peak_in_flight: int = 0
    entered: int = 0
    exited: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)
    # Where the service registers its hooks (the fake never emits them).
    meta: Any = field(default_factory=lambda: SimpleNamespace(events=HierarchicalEmitter()))

    def on(self, api: str, handler: Any) -> None:
        """Answer ``api`` with ``handler(request)`` (a dict, an awaitable, or it raises)."""
        self.handlers[api] = handler

    async def wait_in_flight(self, count: int) -> None:
        """Wait (at most 30 s) until ``count`` calls are in flight at once."""
        async with asyncio.timeout(30):
            while self.in_flight < count:
                self.started.clear()
                await self.started.wait()

    def requests(self, api: str) -> list[dict[str, Any]]:
        return [call.request for call in self.calls if call.api == api]

    def __getattr__(self, api: str) -> Callable[..., Awaitable[dict[str, Any]]]:
        if api.startswith("_"):
            raise AttributeError(api)

        async def call(**request: Any) -> dict[str, Any]:
            self.calls.append(Call(api, request))
            self.in_flight += 1
            self.started.set()
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
                handler = self.handlers.get(api)
                if handler is None:
                    return {}
                result = handler(request)
                if asyncio.iscoroutine(result):
                    result = await result
                response: dict[str, Any] = result
                return response
            finally:
                self.in_flight -= 1

        return call


class _ClientContext:
    def __init__(self, fake: FakeDynamoDB) -> None:
        self._fake = fake

    async def __aenter__(self) -> FakeDynamoDB:
        self._fake.entered += 1
        return self._fake

    async def __aexit__(self, *exc_info: object) -> None:
        self._fake.exited += 1


class FakeSession:
    def __init__(self, fake: FakeDynamoDB, kwargs: dict[str, Any]) -> None:
        self.fake = fake
        self.kwargs = kwargs
        self.client_kwargs: dict[str, Any] = {}

    def client(self, service_name: str, **kwargs: Any) -> _ClientContext:
        assert service_name == "dynamodb"
        self.client_kwargs = kwargs
        return _ClientContext(self.fake)


class FakeSessionFactory:
    """Replaces ``aioboto3.Session``; remembers each session it made."""

    def __init__(self, fake: FakeDynamoDB) -> None:
        self.fake = fake
        self.made: list[FakeSession] = []

    def __call__(self, **kwargs: Any) -> FakeSession:
        session = FakeSession(self.fake, kwargs)
        self.made.append(session)
        return session
