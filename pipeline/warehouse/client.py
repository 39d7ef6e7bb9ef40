"""One way to get a warehouse client: clickhouse-connect over HTTP, in both modes."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError

from pipeline.retry import retrying
from pipeline.settings import Settings, get_settings


def client_kwargs(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    kwargs: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or (8443 if parts.scheme == "https" else 8123),
        "secure": parts.scheme == "https",
    }
    if parts.username:
        kwargs["username"] = unquote(parts.username)
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    return kwargs


def display_url(url: str) -> str:
    """The warehouse URL without its password, fit to show on a page or in a log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def get_client(
    settings: Settings | None = None, *, url: str | None = None, wait: float = 0.0, **kw: Any
) -> Client:
    """A clickhouse-connect client for the configured warehouse.

    ``wait`` retries the connection for that many seconds (a warehouse that is still starting).
    """
    settings = settings or get_settings()
    kwargs = client_kwargs(url or settings.warehouse_url) | kw
    for attempt in retrying(
        on=OperationalError,
        what="connecting to the warehouse",
        initial=0.5,
        maximum=2.0,
        deadline=wait,
        attempts=None if wait > 0 else 1,
    ):
        with attempt:
            return clickhouse_connect.get_client(**kwargs)
    raise AssertionError("unreachable")  # pragma: no cover - retrying re-raises
