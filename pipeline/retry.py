"""One retry policy for the whole project, built on tenacity.

Every place that waits out a failure (a warehouse write or read, a source's HTTP call, the broker
at start-up, a client connection) uses :func:`retrying` or :func:`aretrying`, so the policy is
written once:

* exponential backoff with jitter, from ``initial`` seconds doubling up to ``maximum``;
* a server's own hint wins: an exception with a ``retry_after`` attribute (seconds, from
  ``Retry-After`` or ``x-rate-limit-reset``) is waited out exactly, capped at ``max_hint``;
* only the exception classes named in ``on`` are retried; anything else propagates at once;
* it stops after ``attempts`` tries (``None``: never), after ``deadline`` seconds (``None``:
  never), or as soon as ``stop_event`` is set, in which case the last error is raised;
* each retry is logged at WARNING with what failed, the first line of the error and the wait.

A scheduler that must not sleep in place (alert delivery, which keeps other work going while a
receiver is down) asks :func:`backoff_delay` for the same wait and tries again when it is due.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import tenacity
from tenacity import RetryCallState
from tenacity.stop import stop_base
from tenacity.wait import wait_base

log = logging.getLogger("pipeline.retry")

Classes = type[BaseException] | tuple[type[BaseException], ...]


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of an error, fit for a log line or a status row."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else repr(exc))[:limit]


def backoff_delay(
    attempt: int,
    *,
    initial: float = 0.5,
    maximum: float = 30.0,
    jitter: float = 0.1,
    hint: float | None = None,
    max_hint: float = 900.0,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (from 1): the server's hint when
    there is one (capped at ``max_hint``), else ``initial`` doubling up to ``maximum``, plus up
    to ``jitter`` x ``initial`` of jitter (the policy of :func:`retrying`, without the sleep)."""
    if hint is not None:
        return min(max(float(hint), 0.0), max_hint)
    return min(initial * 2 ** max(attempt - 1, 0), maximum) + random.uniform(0, initial * jitter)


class wait_hint_or_backoff(wait_base):
    """The server's ``retry_after`` hint when the error carries one, else jittered backoff."""

    def __init__(self, initial: float, maximum: float, jitter: float, max_hint: float) -> None:
        self._backoff = tenacity.wait_exponential_jitter(
            initial=initial, max=maximum, exp_base=2, jitter=initial * jitter
        )
        self._max_hint = max_hint

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(exc, "retry_after", None)
        if isinstance(hint, int | float):
            return min(max(float(hint), 0.0), self._max_hint)
        return float(self._backoff(retry_state))


class stop_when_set(stop_base):
    """Stop retrying once ``event`` is set (the process is shutting down)."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._event.is_set()


def _policy(
    *,
    on: Classes,
    what: str,
    initial: float,
    maximum: float,
    jitter: float,
    max_hint: float,
    attempts: int | None,
    deadline: float | None,
    stop_event: threading.Event | None,
    logger: logging.Logger | None,
    on_retry: Callable[[int, float, BaseException], None] | None,
) -> dict[str, Any]:
    stops: list[stop_base] = []
    if attempts is not None:
        stops.append(tenacity.stop_after_attempt(attempts))
    if deadline is not None:
        stops.append(tenacity.stop_after_delay(deadline))
    if stop_event is not None:
        stops.append(stop_when_set(stop_event))
    out = logger or log

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if exc is not None:
            out.warning(
                "%s failed (%s); retrying in %.1fs (attempt %d)",
                what,
                first_line(exc),
                wait,
                state.attempt_number,
            )
            if on_retry is not None:
                on_retry(state.attempt_number, wait, exc)

    return {
        "retry": tenacity.retry_if_exception_type(on),
        "wait": wait_hint_or_backoff(initial, maximum, jitter, max_hint),
        "stop": tenacity.stop_any(*stops) if stops else tenacity.stop_never,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def retrying(
    *,
    on: Classes = Exception,
    what: str = "operation",
    initial: float = 0.5,
    maximum: float = 30.0,
    jitter: float = 0.1,
    max_hint: float = 900.0,
    attempts: int | None = None,
    deadline: float | None = None,
    stop_event: threading.Event | None = None,
    logger: logging.Logger | None = None,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tenacity.Retrying:
    """A synchronous retry loop: ``for attempt in retrying(...): with attempt: ...``.

    With ``stop_event``, the waits themselves return early when it is set (``sleep`` defaults to
    ``stop_event.wait``), so a stop is never held up by a long backoff.
    """
    if sleep is None and stop_event is not None:
        event = stop_event

        def sleep(seconds: float) -> None:
            event.wait(seconds)

    kwargs = _policy(
        on=on,
        what=what,
        initial=initial,
        maximum=maximum,
        jitter=jitter,
        max_hint=max_hint,
        attempts=attempts,
        deadline=deadline,
        stop_event=stop_event,
        logger=logger,
        on_retry=on_retry,
    )
    if sleep is not None:
        kwargs["sleep"] = sleep
    return tenacity.Retrying(**kwargs)


def aretrying(
    *,
    on: Classes = Exception,
    what: str = "operation",
    initial: float = 0.5,
    maximum: float = 30.0,
    jitter: float = 0.1,
    max_hint: float = 900.0,
    attempts: int | None = None,
    deadline: float | None = None,
    stop_event: threading.Event | None = None,
    logger: logging.Logger | None = None,
    on_retry: Callable[[int, float, BaseException], None] | None = None,
) -> tenacity.AsyncRetrying:
    """The asyncio form of :func:`retrying`: ``async for attempt in aretrying(...)``."""
    return tenacity.AsyncRetrying(
        **_policy(
            on=on,
            what=what,
            initial=initial,
            maximum=maximum,
            jitter=jitter,
            max_hint=max_hint,
            attempts=attempts,
            deadline=deadline,
            stop_event=stop_event,
            logger=logger,
            on_retry=on_retry,
        )
    )
