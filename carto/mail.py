"""Sending e-mail over SMTP, for the digest and the alerts (carto/digest.py).

Settings (``[mail]``): ``host``, ``port``, ``username``, ``sender``, ``tls``
(``starttls``, ``ssl`` or ``none``), ``ca_file``, ``timeout_seconds``. The password
comes only from ``$CARTO_SMTP_PASSWORD`` or ``.streamlit/secrets.toml``, never from the
config file. ``tls = "none"`` is for a relay on the same machine: it must be written
explicitly, and a password is never sent over it. The server's certificate is always
verified (against ``ca_file`` when set, else the system's certificates).

Plain Python: no Streamlit here.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from carto.i18n import t
from carto.settings import SECRETS_PATH, ConfigError, Settings, secret

PASSWORD_ENV = "CARTO_SMTP_PASSWORD"
STARTTLS, SSL, NO_TLS = "starttls", "ssl", "none"
TLS_MODES = (STARTTLS, SSL, NO_TLS)


class MailError(Exception):
    """A message could not be sent; the text (French) says why."""


def smtp_password(secrets_path: Path = SECRETS_PATH) -> str | None:
    """The SMTP password from $CARTO_SMTP_PASSWORD, else from .streamlit/secrets.toml
    (``CARTO_SMTP_PASSWORD = "..."``)."""
    return secret(PASSWORD_ENV, secrets_path)


@dataclass(frozen=True)
class MailConfig:
    """Where and how to send."""

    host: str
    port: int
    sender: str
    tls: str = STARTTLS
    username: str = ""
    password: str | None = field(default=None, repr=False)  # never written out
    ca_file: str = ""
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings, secrets_path: Path = SECRETS_PATH) -> MailConfig:
        """The configured server; ConfigError (French) when it cannot be used."""
        host, sender = settings["mail.host"].strip(), settings["mail.sender"].strip()
        tls = settings["mail.tls"]
        if not host or not sender:
            raise ConfigError(t("mail.error.not_configured"))
        if tls not in TLS_MODES:
            raise ConfigError(t("mail.error.tls", tls=tls, modes=", ".join(TLS_MODES)))
        username = settings["mail.username"].strip()
        password = smtp_password(secrets_path) if username else None
        if username and not password:
            raise ConfigError(t("mail.error.no_password", env=PASSWORD_ENV))
        if tls == NO_TLS and password:
            raise ConfigError(t("mail.error.password_without_tls"))
        ca_file = str(settings.path("mail.ca_file")) if settings["mail.ca_file"] else ""
        return cls(
            host=host,
            port=settings["mail.port"],
            sender=sender,
            tls=tls,
            username=username,
            password=password,
            ca_file=ca_file,
            timeout_seconds=settings["mail.timeout_seconds"],
        )

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)


def build_message(sender: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    """A French message with a plain-text part and an HTML alternative."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Content-Language"] = "fr"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send(config: MailConfig, message: EmailMessage) -> None:
    """Send one message; MailError (French) when the server is unreachable, refuses the
    connection, the sign-in or the message, or its certificate does not verify."""
    try:
        if config.tls == SSL:
            with smtplib.SMTP_SSL(
                config.host,
                config.port,
                timeout=config.timeout_seconds,
                context=config.tls_context(),
            ) as smtp:
                _deliver(config, smtp, message)
        else:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds) as smtp:
                if config.tls == STARTTLS:
                    smtp.starttls(context=config.tls_context())
                _deliver(config, smtp, message)
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise MailError(
            t("mail.error.send", host=config.host, port=config.port, error=exc)
        ) from exc


def _deliver(config: MailConfig, smtp: smtplib.SMTP, message: EmailMessage) -> None:
    if config.username and config.password:
        smtp.login(config.username, config.password)
    refused = smtp.send_message(message)
    if refused:  # some recipients refused, others accepted: we send to one only
        raise smtplib.SMTPRecipientsRefused(refused)
