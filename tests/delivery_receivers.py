"""Real local receivers for alert delivery tests: HTTP (Slack-shaped or signed webhook) and SMTP.

Each runs on 127.0.0.1 on a free port in a thread of its own (its own event loop), so sync tests,
``asyncio.run`` tests and worker subprocesses can all talk to it. They can fail on demand: answer
an HTTP status, or hold a request without answering (for "the worker died mid-send").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import orjson
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from pipeline.netutil import free_port
from pipeline.sources.webhook.auth import AuthError, decode_secret, verify_signature

SECRET = "whsec_" + base64.b64encode(b"delivery-test-signing-key-32byte").decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class HttpReceiver:
    """Accepts POSTs; ``secret`` set: rejects (401) any request not signed with it."""

    secret: str | None = None
    port: int = field(default_factory=free_port)
    got: list[Received] = field(default_factory=list)  # accepted requests
    rejected: list[str] = field(default_factory=list)  # why a request got 401
    arrivals: int = 0  # every request, answered or not
    # Next answers (status, body[, headers]); then 200.
    fail: list[tuple[Any, ...]] = field(default_factory=list)
    hang: int = 0  # hold this many next requests unanswered (until stop)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._release = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.arrivals += 1
        if self.hang:
            self.hang -= 1
            self.got.append(Received(request.path, dict(request.headers), body))
            await self._release.wait()
            return web.Response(text="late")
        if self.fail:
            status, text, *headers = self.fail.pop(0)
            return web.Response(status=status, text=text, headers=headers[0] if headers else None)
        if self.secret is not None:
            try:
                verify_signature(
                    decode_secret(self.secret), request.headers, body, time.time(), 300
                )
            except AuthError as exc:
                self.rejected.append(str(exc))
                return web.Response(status=401, text="bad signature")
        self.got.append(Received(request.path, dict(request.headers), body))
        return web.Response(text="ok")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("POST", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)  # a receiver's log is not ours to check
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._runner = runner
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def down() -> None:
            self._release.set()
            await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []
        self.fail: list[str] = []  # next DATA answers, e.g. "451 try again later"
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.fail:
            return self.fail.pop(0)
        raw = envelope.original_content or b""
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((envelope, msg))
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd in a thread; with ``password``, it requires that login (plain, no TLS)."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.box = _Mailbox()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if user is not None:

            def check(
                server: SMTP, session: Session, envelope: Envelope, mech: str, data: Any
            ) -> Any:
                from aiosmtpd.smtp import AuthResult

                ok = data.login.decode() == user and data.password.decode() == password
                if ok:
                    self.box.logins.append((user, str(password)))
                return AuthResult(success=ok, handled=False)

            kwargs = {"authenticator": check, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self.box, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    @property
    def messages(self) -> list[tuple[Envelope, EmailMessage]]:
        return self.box.messages

    def stop(self) -> None:
        self.controller.stop()


@contextlib.contextmanager
def http_receiver(secret: str | None = None) -> Iterator[HttpReceiver]:
    r = HttpReceiver(secret)
    try:
        yield r
    finally:
        r.stop()
