"""Receivers for the delivery tests: a local SMTP server (aiosmtpd) and a loopback webhook
receiver (http.server in a thread), each counting what it accepted by idempotency key and
failing on cue.

A receiver's ``script`` maps the number of a request (1, 2 …, counted over every request
it gets) to what it does instead of accepting: ``"500"``/``"400"`` (webhook) or
``"451"``/``"550"`` (SMTP) answer that status, ``"slow"`` answers only after
``slow_seconds`` (the sender times out first), ``"block"`` accepts the message, then holds
the answer until :attr:`release` is set (the kill -9 test kills the sender meanwhile).
A message whose key was accepted before is answered "accepted" and not counted again:
the receiver-side deduplication the idempotency key is for.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from rapport.actions.channels import verify_signature


def free_port() -> int:
    """A TCP port nothing listens on (the refused-connection case)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Counting:
    def __init__(self, script: dict[int, str] | None, slow_seconds: float) -> None:
        self.script = dict(script or {})
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.requests = 0
        self.received: list[str] = []  # the key of every request that got through
        self.accepted: Counter[str] = Counter()  # keys accepted as new: each must be 1
        self.repeats: Counter[str] = Counter()  # keys seen again and dropped
        self.documents: dict[str, Any] = {}
        self.blocked = threading.Event()
        self.release = threading.Event()

    def cue(self) -> str | None:
        with self.lock:
            self.requests += 1
            return self.script.get(self.requests)

    def accept(self, key: str, document: Any) -> bool:
        """Count ``key``; ``False`` when it is a repeat (dropped)."""
        with self.lock:
            self.received.append(key)
            if key in self.accepted:
                self.repeats[key] += 1
                return False
            self.accepted[key] += 1
            self.documents[key] = document
            return True


class WebhookReceiver(_Counting):
    """A loopback HTTP server checking each call's signature before it counts it."""

    def __init__(
        self, secret: str, script: dict[int, str] | None = None, slow_seconds: float = 5.0
    ) -> None:
        super().__init__(script, slow_seconds)
        self.secret = secret
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                cue = receiver.cue()
                if cue == "slow":
                    time.sleep(receiver.slow_seconds)
                    return self._answer(503)
                if cue in ("500", "400"):
                    return self._answer(int(cue))
                ok = verify_signature(
                    receiver.secret,
                    timestamp=self.headers["X-Rapport-Timestamp"],
                    body=body,
                    signature=self.headers["X-Rapport-Signature"],
                )
                if not ok:
                    receiver.bad_signatures += 1
                    return self._answer(401)
                key = self.headers["Idempotency-Key"]
                receiver.accept(key, json.loads(body))
                if cue == "block":
                    receiver.blocked.set()
                    receiver.release.wait(60)
                self._answer(200)

            def _answer(self, status: int) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender is gone (killed)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver(_Counting):
    """A local SMTP server counting e-mails by their Message-ID."""

    def __init__(self, script: dict[int, str] | None = None, slow_seconds: float = 5.0) -> None:
        super().__init__(script, slow_seconds)
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                cue = receiver.cue()
                if cue == "slow":
                    await asyncio.sleep(receiver.slow_seconds)
                    return "451 4.3.0 too slow"
                if cue == "451":
                    return "451 4.3.0 try again later"
                if cue == "550":
                    return "550 5.1.1 no such mailbox"
                mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
                receiver.accept(str(mail["Message-ID"]), mail)
                if cue == "block":
                    receiver.blocked.set()
                    await asyncio.get_running_loop().run_in_executor(
                        None, receiver.release.wait, 60
                    )
                return "250 2.0.0 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.controller.stop()
