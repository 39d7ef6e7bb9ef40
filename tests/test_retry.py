"""The one retry policy: backoff, server hints, classes, attempts and stop events."""

from __future__ import annotations

import asyncio
import threading

import pytest

from pipeline.retry import aretrying, retrying


class Hinted(Exception):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


def run(policy, fn):  # type: ignore[no-untyped-def]
    for attempt in policy:
        with attempt:
            return fn()
    raise AssertionError("unreachable")


def test_retries_the_named_class_with_growing_waits_then_succeeds() -> None:
    waits: list[float] = []
    calls = iter([ConnectionError("a"), ConnectionError("b"), ConnectionError("c"), "ok"])

    def fn() -> str:
        v = next(calls)
        if isinstance(v, Exception):
            raise v
        return v

    policy = retrying(on=ConnectionError, initial=1.0, maximum=3.0, jitter=0.0, sleep=waits.append)
    assert run(policy, fn) == "ok"
    assert waits == [1.0, 2.0, 3.0]  # doubling, capped at the maximum


def test_other_errors_propagate_at_once() -> None:
    waits: list[float] = []
    policy = retrying(on=ConnectionError, sleep=waits.append)
    with pytest.raises(ValueError):
        run(policy, lambda: (_ for _ in ()).throw(ValueError("bad")))
    assert waits == []


def test_the_servers_hint_wins_and_is_capped() -> None:
    waits: list[float] = []
    errors = iter([Hinted(7.0), Hinted(5000.0), Hinted(None)])

    def fn() -> None:
        raise next(errors)

    policy = retrying(
        on=Hinted, attempts=3, initial=1.0, jitter=0.0, max_hint=60, sleep=waits.append
    )
    with pytest.raises(Hinted):
        run(policy, fn)
    assert waits == [7.0, 60.0]  # the third failure is the last attempt: no wait after it


def test_a_stop_event_ends_the_retries_with_the_last_error() -> None:
    stop = threading.Event()
    tries = 0

    def fn() -> None:
        nonlocal tries
        tries += 1
        if tries == 2:
            stop.set()
        raise ConnectionError(f"down {tries}")

    with pytest.raises(ConnectionError, match="down 2"):
        run(retrying(on=ConnectionError, initial=0.01, stop_event=stop), fn)


def test_the_async_form_follows_the_same_policy() -> None:
    tries = 0

    async def fn() -> int:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise ConnectionError("not yet")
        return tries

    async def main() -> int:
        async for attempt in aretrying(on=ConnectionError, initial=0.001, maximum=0.002):
            with attempt:
                return await fn()
        raise AssertionError("unreachable")

    assert asyncio.run(main()) == 3
