"""Recorded HTTP for connector tests, with the live network out of reach."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import responses
from responses.registries import FirstMatchRegistry


class NoNetwork(FirstMatchRegistry):
    """A request no test registered is an error the connector cannot mistake for a timeout."""

    strays: ClassVar[list[str]] = []

    def find(self, request: Any) -> Any:
        match, reasons = super().find(request)
        if match is None:
            self.strays.append(f"{request.method} {request.url}")
            raise AssertionError(f"test tried to reach the network: {request.method} {request.url}")
        return match, reasons


@contextmanager
def recorded_api() -> Iterator[responses.RequestsMock]:
    """Replayed responses only; fails the test if anything else was requested."""
    NoNetwork.strays.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False, registry=NoNetwork) as mock:
        yield mock
    assert not NoNetwork.strays, f"unexpected requests: {NoNetwork.strays}"
