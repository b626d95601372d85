"""The channels letters are sent through, built from the settings: e-mail over SMTP
(``smtp.py``) and a signed webhook (``webhook.py``), each behind ``complaints.delivery``'s
``LetterSender`` port. ``COMPLAINTS_LETTER_ROUTES`` says which channel of complaint goes
through which; ``send_due`` is what ``complaints outbox send`` and the flow run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import parseaddr

from complaintflow.bootstrap import App
from complaintflow.settings import Settings
from complaints.clock import Clock
from complaints.delivery import DeliveryReport, LetterSender, deliver_due
from complaints.errors import ConfigurationError
from root_cause.notice_delivery import deliver_notices

__all__ = ["Router", "message_id_domain", "send_due"]

SMTP, WEBHOOK, ANY_CHANNEL = "smtp", "webhook", "*"


def message_id_domain(settings: Settings) -> str:
    """The right-hand side of each Message-ID: the setting, else the domain letters come from."""
    if settings.message_id_domain:
        return settings.message_id_domain
    _, address = parseaddr(settings.mail_from)
    return address.rpartition("@")[2] or "complaintflow.invalid"


class Router:
    """The sender of each complaint channel, each built on first use and closed with ``close``."""

    def __init__(self, settings: Settings, clock: Clock):
        unknown = {channel: name for channel, name in settings.letter_routes.items() if name not in (SMTP, WEBHOOK)}
        if unknown:
            raise ConfigurationError(f"COMPLAINTS_LETTER_ROUTES: {unknown} names no channel; use 'smtp' or 'webhook'")
        if settings.webhook_url and not settings.webhook_secret:
            raise ConfigurationError("COMPLAINTS_WEBHOOK_URL is set without COMPLAINTS_WEBHOOK_SECRET: the gateway "
                                     "could not tell our letters from anyone's; set a secret shared with it")
        self.settings, self.clock = settings, clock
        self._senders: dict[str, LetterSender | None] = {}

    def __call__(self, channel: str) -> LetterSender | None:
        routes = self.settings.letter_routes
        name = routes.get(channel) or routes.get(ANY_CHANNEL)
        return None if name is None else self.sender(name)

    def sender(self, name: str) -> LetterSender | None:
        """The sender of one transport (``smtp`` or ``webhook``); None when it is not configured."""
        if name not in self._senders:
            self._senders[name] = self._build(name)
        return self._senders[name]

    def _build(self, name: str) -> LetterSender | None:
        s = self.settings
        if name == SMTP and s.smtp_host:
            from complaintflow.delivery.smtp import SmtpSender

            return SmtpSender(s.smtp_host, s.smtp_port, s.mail_from, self.clock, starttls=s.smtp_starttls,
                              user=s.smtp_user, password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                              timeout=s.smtp_timeout, reply_to=s.mail_reply_to,
                              ca_file=str(s.smtp_ca_file) if s.smtp_ca_file else None)
        if name == WEBHOOK and s.webhook_url and s.webhook_secret:
            from complaintflow.delivery.webhook import WebhookSender

            return WebhookSender(s.webhook_url, s.webhook_secret.get_secret_value(), self.clock, s.webhook_timeout)
        return None  # not configured: its letters wait, saying so (complaints.delivery)

    def close(self) -> None:
        for sender in self._senders.values():
            if sender is not None:
                sender.close()
        self._senders.clear()


@contextmanager
def router(settings: Settings, clock: Clock) -> Iterator[Router]:
    routes = Router(settings, clock)
    try:
        yield routes
    finally:
        routes.close()


def send_due(app: App, batch_size: int | None = None, max_batches: int | None = None) -> DeliveryReport:
    """Send the letters due now through the configured channels, then the root-cause notices
    due to the quality team (``report.notices``)."""
    s = app.settings
    claim_for, size = timedelta(seconds=s.outbox_claim_seconds), batch_size or s.outbox_batch_size
    with router(s, app.clock) as routes:
        report = deliver_due(app.db, app.clock, routes, message_id_domain(s), batch_size=size,
                             max_batches=max_batches, claim_for=claim_for, max_attempts=s.outbox_max_attempts)
        report.notices = deliver_notices(app.db, app.clock, routes.sender(s.rc_notice_channel), s.rc_notice_channel,
                                         s.quality_team_address, message_id_domain(s), batch_size=size,
                                         max_batches=max_batches, claim_for=claim_for,
                                         max_attempts=s.outbox_max_attempts)
    return report
