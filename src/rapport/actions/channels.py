"""How a message leaves: e-mail over SMTP, every other channel through a signed webhook.

A channel's :meth:`~Channel.send` returns when the other side accepted the message and
raises :class:`SendFailed` otherwise, saying whether trying again may help (a time-out, a
refused connection, an HTTP 5xx, 408 or 429, an SMTP 4xx) or not (a bad address, an HTTP
4xx, a channel that is not set up). The message's idempotency key travels with it — the
``Message-ID`` of an e-mail, the ``Idempotency-Key`` header of a webhook call — so a
receiver can drop a message it has seen already (docs/actions.md "Messages").

Webhook calls are signed: ``X-Rapport-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed
by the shared secret, of ``<X-Rapport-Timestamp>.<body>``; :func:`verify_signature` is
what a receiver runs. Nothing here touches the network before :meth:`~Channel.send`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

import httpx

from rapport.config import MessageRules
from rapport.domain import MessageChannel
from rapport.store.outbox import ClaimedMessage

#: Header names of a webhook call.
IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Rapport-Timestamp"
SIGNATURE_HEADER = "X-Rapport-Signature"
#: The header an e-mail carries its idempotency key in, beside its Message-ID.
EMAIL_KEY_HEADER = "X-Rapport-Idempotency-Key"
#: HTTP statuses worth trying again: time-out, too many requests, and every 5xx.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


class SendFailed(Exception):
    """A channel did not accept a message; ``permanent`` when trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Channel(Protocol):
    """Something that sends a claimed message and returns what the other side answered."""

    def send(self, message: ClaimedMessage) -> str: ...

    def close(self) -> None: ...


def message_id(key: str, domain: str) -> str:
    """The e-mail ``Message-ID`` of the message with idempotency key ``key``: the same key
    always gives the same id, so a receiver sees a re-sent e-mail as the same one."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Rapport-Signature`` value of a webhook call: ``sha256=`` and the hex
    HMAC-SHA256 of ``timestamp``, ``.`` and ``body``, keyed by ``secret``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    mac = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str | bytes,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance_seconds: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether a webhook call is Rapport's: its signature matches the body and its
    timestamp is within ``tolerance_seconds`` of ``now`` (Unix seconds; default: the clock),
    so that a recorded call cannot be replayed later.

    Examples
    --------
    A receiver checks the raw body before it parses it, then drops a key it has seen::

        ok = verify_signature(
            os.environ["RAPPORT_WEBHOOK_SECRET"],
            timestamp=request.headers["X-Rapport-Timestamp"],
            body=request.body,  # the bytes as received
            signature=request.headers["X-Rapport-Signature"],
        )
        if not ok:
            return 401
        if seen(request.headers["Idempotency-Key"]):
            return 200  # a repeat: accepted already, do nothing
    """
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    clock = time.time() if now is None else now
    if abs(clock - sent) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def webhook_body(message: ClaimedMessage) -> bytes:
    """The JSON body of a webhook call (UTF-8, Chinese kept readable)."""
    doc = {
        "idempotency_key": message.idempotency_key,
        "channel": message.channel.value,
        "recipient": message.recipient,
        "customer_id": message.customer_id,
        "subject": message.subject,
        "body": message.body,
        "payload": dict(message.payload) if message.payload is not None else None,
        "created_at": message.created_at.isoformat(),
        "attempt": message.attempt,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _secret(env_name: str, what: str) -> str:
    value = os.environ.get(env_name, "")
    if not value:
        raise SendFailed(f"{what}: the environment variable {env_name} is not set", permanent=True)
    return value


@dataclass
class WebhookChannel:
    """SMS, WeChat, app push and webhooks: a signed JSON POST. ``url`` is the channel's
    gateway; without one (a ``webhook`` message) the message's recipient is the URL."""

    rules: MessageRules
    channel: MessageChannel
    url: str | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.rules.timeout_seconds)
        return self._client

    def send(self, message: ClaimedMessage) -> str:
        url = self.url or (message.recipient if self.channel == MessageChannel.WEBHOOK else "")
        if not url.startswith(("http://", "https://")):
            raise SendFailed(
                f"no webhook URL for {self.channel.value}: set "
                f"[messages.webhook.urls] {self.channel.value}",
                permanent=True,
            )
        secret = _secret(self.rules.webhook.secret_env, "webhook secret")
        body = webhook_body(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            IDEMPOTENCY_HEADER: message.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
        }
        try:
            response = self._http().post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise SendFailed(f"timed out after {self.rules.timeout_seconds:g} s: {exc}") from exc
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        reason = f"HTTP {status} {response.reason_phrase}: {response.text[:200]}"
        raise SendFailed(reason, permanent=status < 500 and status not in RETRYABLE_STATUSES)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class SmtpChannel:
    """E-mail over SMTP (``[messages.smtp]``): one connection for a run, opened at the
    first message, STARTTLS or implicit TLS and a log-in when configured."""

    rules: MessageRules
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        cfg = self.rules.smtp
        timeout = self.rules.timeout_seconds
        smtp: smtplib.SMTP
        if cfg.ssl:
            smtp = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
        if cfg.user:
            smtp.login(cfg.user, _secret(cfg.password_env, "SMTP password"))
        self._smtp = smtp
        return smtp

    def email(self, message: ClaimedMessage) -> EmailMessage:
        """The e-mail of ``message``: UTF-8 subject and body, its Message-ID from the key."""
        cfg = self.rules.smtp
        mail = EmailMessage()
        mail["From"] = cfg.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(message.idempotency_key, cfg.message_id_domain)
        mail[EMAIL_KEY_HEADER] = message.idempotency_key
        mail.set_content(message.body or "", charset="utf-8")
        return mail

    def send(self, message: ClaimedMessage) -> str:
        mail = self.email(message)
        try:
            refused = self._connection().send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            raise SendFailed(
                f"recipient refused: {_refusals(exc.recipients)}",
                permanent=_all_5xx(exc.recipients),
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            text = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise SendFailed(
                f"SMTP {exc.smtp_code}: {text}", permanent=exc.smtp_code >= 500
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise SendFailed(f"recipient refused: {_refusals(refused)}", permanent=True)
        return f"SMTP accepted {mail['Message-ID']}"

    def close(self) -> None:
        if self._smtp is None:
            return
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _refusals(recipients: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(
        f"{who} ({code} {reason.decode('utf-8', 'replace')})"
        for who, (code, reason) in recipients.items()
    )


def _all_5xx(recipients: Mapping[str, tuple[int, bytes]]) -> bool:
    return all(code >= 500 for code, _ in recipients.values())


class Channels:
    """The channels of one delivery run, made on first use and closed together."""

    def __init__(self, rules: MessageRules, made: Mapping[MessageChannel, Channel] | None = None):
        self.rules = rules
        self._made: dict[MessageChannel, Channel] = dict(made or {})

    def get(self, channel: MessageChannel) -> Channel:
        """The channel that sends messages of ``channel``."""
        if channel not in self._made:
            made: Channel
            if channel == MessageChannel.EMAIL:
                made = SmtpChannel(self.rules)
            else:
                made = WebhookChannel(self.rules, channel, self.rules.webhook.urls.get(channel))
            self._made[channel] = made
        return self._made[channel]

    def close(self) -> None:
        for made in self._made.values():
            made.close()

    def __enter__(self) -> Channels:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
