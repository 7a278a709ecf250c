"""Structured logs: one JSON object a line, with every secret redacted before it is written.

``configure_logging`` installs one handler on the root logger; the redaction is a filter on
that handler, so records of every logger (ours, uvicorn's, a library's) pass through it.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Final

import orjson

from gateway.config import Settings

REDACTED: Final = "[REDACTED]"

#: What a secret looks like wherever it may appear in text. Each pattern keeps its first group
#: (the name of the thing) and hides the rest.
_PATTERNS: Final = (
    # Authorization: Bearer x / Basic x, Access-Token: x (TikTok), in a header dump or repr
    re.compile(
        r"(?i)((?:authorization|access-token|x-api-key)['\"]?\s*[:=]\s*['\"]?)"
        r"(?:(?:bearer|basic)\s+)?[^'\",\s}]+"
    ),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    # access_token=..., client_secret=..., refresh_token=... in a query string or a form body,
    # and "access_token": "..." in JSON
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|password|api_key)['\"]?\s*[=:]\s*['\"]?)"
        r"[^&'\"\s,}]+"
    ),
    # a JWT (Apple's client secret, any signed token): three base64url parts
    re.compile(r"()eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
)

#: A word every pattern above needs; text without one is passed as it is.
_MAY_HOLD_A_SECRET: Final = re.compile(
    r"(?i)bearer|authorization|access|token|secret|password|api_key|x-api-key|eyJ"
)

#: Attributes every LogRecord has; anything else on a record is an ``extra`` field to write.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)


#: Texts up to this long that needed no redaction are remembered (see ``Redactor``).
_CLEAN_TEXT_CHARS: Final = 200
_CLEAN_TEXTS: Final = 4096


class Redactor:
    """Hides secrets in text: known shapes (above) and the configured values themselves.

    Whether a text needs hiding depends on the text alone, and most fields of a request's log
    line repeat (its event, method, route, project and key id): a short text found clean is
    remembered (up to ``_CLEAN_TEXTS`` of them, then forgotten all at once), which spares
    the scans for each of them on every request."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is hidden whole; short values
        # (an account id of two characters, a flag) would hide ordinary words.
        self._values = sorted({v for v in values if len(v) >= 8}, key=len, reverse=True)
        self._clean: set[str] = set()

    def __call__(self, text: str) -> str:
        if text in self._clean:
            return text
        redacted = self._redact(text)
        if redacted is text and len(text) <= _CLEAN_TEXT_CHARS:
            if len(self._clean) >= _CLEAN_TEXTS:
                self._clean.clear()
            self._clean.add(text)
        return redacted

    def _redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        if _MAY_HOLD_A_SECRET.search(text) is None:  # most text: one scan instead of four
            return text
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text


class RedactingFilter(logging.Filter):
    """Rewrites a record so that no secret reaches any formatter: its message (arguments
    merged in), its traceback, and its string-valued extra fields."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        fields = record.__dict__
        for name in fields.keys() - _STANDARD:  # the extra fields, found in one C-level pass
            value = fields[name]
            if isinstance(value, str):
                fields[name] = self.redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields, "traceback"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = record.__dict__
        if fields.keys() - _STANDARD:  # extra fields, written in the order they were given
            line.update(
                (name, value)
                for name, value in fields.items()
                if name not in _STANDARD and not name.startswith("_")
            )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["traceback"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def build_handler(
    stream: IO[str] | None = None, *, fmt: str = "json", secrets: Iterable[str] = ()
) -> logging.Handler:
    """A stream handler that redacts, writing JSON lines (``fmt="json"``) or plain text."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    return handler


def configure_logging(
    level: str = "info",
    fmt: str = "json",
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Make the root logger write through one redacting handler (replacing any others).

    No record of this process asks where it was logged from, or from which thread or
    process: neither format writes them, and finding the caller walks the stack on every
    record (the logging HOWTO's "Optimization" settings; a tenth of a request's log line)."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = build_handler(stream, fmt=fmt, secrets=secrets)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def configured_secrets(settings: Settings) -> list[str]:
    """Every credential value in the configuration, and the cursor secrets: what the redacting
    filter hides wherever it appears, whatever its shape."""
    values = [secret.decode() for secret in settings.cursor_secrets]
    for project in settings.projects:
        for account in project.ad_accounts:
            values.extend(account.credentials.values())
    return values
