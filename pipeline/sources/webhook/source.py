"""``webhook``: an HTTP receiver for signups (Action Network, Mobilize, any JSON form).

    BUZZ_PII_KEY=... buzz source run webhook --secret whsec_... [--host 0.0.0.0 --port 8088]

Routes: ``POST {path_prefix}/actionnetwork``, ``/mobilize`` and ``/form`` (default prefix
``/webhooks``). Each request (``receiver.py``) is authenticated (``auth.py``: a Standard Webhooks
signature with ``--secret``, or ``--token`` in the ``token_header`` header or ``?token=``),
mapped (``mapping.py``: email and phone become keyed HMACs right there) and handed to the
producer before the sender gets its answer, so a 2xx means "in the pipeline". ``--inbox FILE``
first replays captured deliveries (JSON lines ``{"path", "headers", "body"}``), verifying
signatures but not their age; with ``--no-serve`` the source stops after that.

Bodies: ``application/json`` (or any ``application/*+json``) on every route, and
``application/x-www-form-urlencoded`` on ``/form`` (``utm[source]=...`` nests). The declared type
decides the parser; nothing is guessed from the bytes.

Answers and failure policy:

- 202 ``{"status": "accepted", "event_ids": [...]}`` once the records are with the producer.
- A webhook-id is reserved atomically the moment an authenticated request arrives, so of several
  identical deliveries at once exactly one is processed: the others get 409 ``{"status":
  "duplicate"}`` while it is in progress (not 2xx: should it fail, the sender's retry must come)
  and 200 ``{"status": "duplicate"}`` once it was accepted; nothing is produced for them. A
  delivery whose records could not be handed over releases its id, so a retry goes through.
- 401: missing or wrong signature or token, or a timestamp outside ``--tolerance``; nothing is
  stored, not even a dead letter (it would let anyone fill the dead-letter topic).
- 413: a body over ``--max-body-bytes``. 404: an unknown route. 415: a Content-Type the route
  does not take (a JSON body sent as ``text/plain`` included), nothing stored: the sender still
  has it and is told what to send.
- 422 with the reason: an authenticated body that is not a signup (unparsable, no email or
  phone, bad field), plus a dead letter whose payload is the parsed body with every personal
  field masked (``redact.py``: on parsed fields, whatever the encoding); of a body that
  cannot be parsed only the size and hash are kept.
- 503: the record could not be handed over within ``--reply-timeout`` (the sender retries).
- BUZZ_PII_KEY unset stops at start-up; a port already taken is fatal.

Checkpoint: the webhook ids accepted within the replay window (so a restart still refuses
replays) and how far ``--inbox`` was read.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import orjson
from aiohttp import web

from pipeline.settings import ConfigError
from pipeline.sources.base import SourceConfig, StreamingSource
from pipeline.sources.emitter import Record
from pipeline.sources.errors import FatalError
from pipeline.sources.webhook.auth import ReplayGuard
from pipeline.sources.webhook.config import WebhookConfig
from pipeline.sources.webhook.mapping import MAPPERS
from pipeline.sources.webhook.receiver import Receiver, Reply


class WebhookSource(StreamingSource[WebhookConfig]):
    name: ClassVar[str] = "webhook"
    description: ClassVar[str] = (
        "HTTP receiver for signups (Action Network, Mobilize, JSON forms); signed or token"
    )
    Config: ClassVar[type[SourceConfig]] = WebhookConfig

    def setup(self) -> None:
        key = self.ctx.settings.pii_key
        if key is None or not key.get_secret_value():
            raise ConfigError(
                "BUZZ_PII_KEY: must be set: the webhook hashes emails and phones with it "
                "before anything leaves the receiver"
            )
        now = time.time()
        self.guard = ReplayGuard(self.config.tolerance, self.config.max_ids)
        self.guard.load(self.checkpoint.get("seen", {}), now)
        self.receiver = Receiver(self.config, key, self.guard)
        self.inbox: queue.Queue[tuple[Reply, concurrent.futures.Future[bool]]] = queue.Queue()
        self._stop_server = threading.Event()

    def _hand_over(self, reply: Reply) -> Iterator[Record]:
        """Yield a delivery's records; then commit its webhook-id, or release it if cut short.

        The runner sends each record before asking for the next: once the last one is yielded
        and control comes back, everything of this delivery is with the producer.
        """
        handed = False
        try:
            yield from reply.records
            handed = True
        finally:
            if reply.msg_id and handed:
                self.guard.commit(reply.msg_id, reply.timestamp, time.time())
                self.checkpoint["seen"] = self.guard.export()
            elif reply.msg_id:
                self.guard.release(reply.msg_id)

    def stream(self) -> Iterator[Record]:
        if self.config.inbox is not None:
            yield from self._replay_inbox(self.config.inbox)
        if not self.config.serve:
            return
        thread, errors = self._start_server()
        try:
            while not self.ctx.stopping():
                try:
                    reply, done = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    if not thread.is_alive():
                        raise FatalError(f"webhook server stopped: {errors or 'unknown'}") from None
                    continue
                if not done.set_running_or_notify_cancel():
                    continue  # the sender was answered 503 already and its id released
                handed = False
                try:
                    yield from self._hand_over(reply)
                    handed = True
                finally:
                    done.set_result(handed)
                if self.ctx.once and reply.status == 202:
                    return
        finally:
            self._stop_server.set()
            thread.join(10)
            while not self.inbox.empty():  # answer 503 to whoever still waits
                waiting = self.inbox.get_nowait()[1]
                if waiting.set_running_or_notify_cancel():
                    waiting.set_result(False)

    def _replay_inbox(self, path: Path) -> Iterator[Record]:
        done: dict[str, int] = self.checkpoint.setdefault("inbox", {})
        skip = done.get(str(path.resolve()), 0)
        try:
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            raise FatalError(f"--inbox {path}: {exc.strerror}") from None
        statuses: dict[int, int] = {}
        for n, line in enumerate(lines[skip:], start=skip + 1):
            try:
                d = orjson.loads(line)
                platform = str(d["path"]).rstrip("/").rsplit("/", 1)[-1]
                body = str(d["body"]).encode()
                headers = {str(k): str(v) for k, v in d.get("headers", {}).items()}
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                reply = Reply(400, {}, [self.dead_letter(b"", f"inbox line {n}: {exc!r}")])
            else:
                reply = self.receiver.handle(
                    platform, headers, {}, body, time.time(), check_age=False
                )
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            done[str(path.resolve())] = n
            yield from self._hand_over(reply)
        self.log.info("inbox %s: answers %s", path, dict(sorted(statuses.items())))

    # -- the HTTP server, on its own thread and event loop ---------------------------------
    def _start_server(self) -> tuple[threading.Thread, list[str]]:
        ready, errors = threading.Event(), list[str]()
        thread = threading.Thread(
            target=self._serve, args=(ready, errors), name="webhook-http", daemon=True
        )
        thread.start()
        ready.wait(30)
        if errors:
            raise FatalError(f"cannot listen on {self.config.host}:{self.config.port}: {errors[0]}")
        return thread, errors

    @staticmethod
    async def _handed(done: concurrent.futures.Future[bool], timeout: float) -> bool:
        """Whether the stream handed the records over within ``timeout``.

        On time-out the hand-over is cancelled if it has not started (then the sender gets 503
        and nothing is produced); one already under way is waited out, so the answer never
        contradicts what reached the producer.
        """
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), timeout)
        except TimeoutError:
            if done.cancel():
                return False
            return await asyncio.wrap_future(done)

    def _serve(self, ready: threading.Event, errors: list[str]) -> None:
        cfg = self.config

        async def handle(request: web.Request) -> web.Response:
            if (request.content_length or 0) > cfg.max_body_bytes:
                return web.json_response({"error": "request body too large"}, status=413)
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return web.json_response({"error": "request body too large"}, status=413)
            reply = self.receiver.handle(
                request.match_info["platform"], request.headers, request.query, body, time.time()
            )
            if reply.records:
                done: concurrent.futures.Future[bool] = concurrent.futures.Future()
                self.inbox.put((reply, done))
                if not await self._handed(done, cfg.reply_timeout):
                    if reply.msg_id:
                        self.guard.release(reply.msg_id)
                    return web.json_response({"error": "not stored; retry later"}, status=503)
            elif reply.msg_id and reply.status >= 400:
                self.guard.release(reply.msg_id)
            self.log.info("%s %s -> %d", request.method, request.path, reply.status)
            return web.json_response(reply.body, status=reply.status)

        async def main() -> None:
            app = web.Application(client_max_size=cfg.max_body_bytes)
            app.router.add_post(cfg.path_prefix + "/{platform}", handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            try:
                await web.TCPSite(runner, cfg.host, cfg.port).start()
                routes = "|".join(MAPPERS)
                where = f"http://{cfg.host}:{cfg.port}{cfg.path_prefix}/{{{routes}}}"
                self.log.info("webhook listening on %s", where)
                ready.set()
                while not self._stop_server.is_set():
                    await asyncio.sleep(0.1)
            finally:
                await runner.cleanup()

        try:
            asyncio.run(main())
        except OSError as exc:
            errors.append(str(exc))
        finally:
            ready.set()
