"""Logging: console at INFO, a rotating DEBUG file, the job id on each line, secrets redacted."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path

current_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "audiofetch_job_id", default=None
)

LOG_FILE_NAME = "audiofetch.log"
_FORMAT = "%(asctime)s %(levelname)-7s [%(job_id)s] %(name)s: %(message)s"
_MASK = "***"

# Shapes that carry credentials whatever their value: cookies, tokens, passwords, sessions.
_SECRET_PATTERNS = [
    re.compile(r"(?i)\b(authorization|x-csrf-token|x-guest-token|cookie|set-cookie)"
               r"(\s*[:=]\s*)([^\r\n,}]+)"),
    re.compile(r"(?i)\b(bearer)(\s+)([A-Za-z0-9._~+/%=-]{8,})"),
    re.compile(r"(?i)\b(auth_token|ct0|api_hash|password|passphrase|passwd|token|secret"
               r"|session|string_session|phone_code_hash)(['\"]?\s*[:=]\s*['\"]?)"
               r"([^\s'\",;&}]+)"),
]
_known_secrets: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret's exact value so that it is masked wherever it appears in a log."""
    if value and len(value) >= 4:
        with _known_lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    """Mask every known secret value and every credential-shaped `key=value` in `text`."""
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, _MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{_MASK}", text)
    return text


class JobIdFilter(logging.Filter):
    """Adds `record.job_id` from the running job's context ("-" outside a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job_id"):
            record.job_id = current_job_id.get() or "-"
        return True


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts: covers args, exceptions and tracebacks alike."""

    def __init__(self, fmt: str, clear_line: bool = False) -> None:
        super().__init__(fmt)
        # On a terminal a progress bar may own the current line: wipe it first.
        self.prefix = "\r\x1b[K" if clear_line else ""

    def format(self, record: logging.LogRecord) -> str:
        return self.prefix + redact(super().format(record))


_handlers: list[logging.Handler] = []


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files only their owner can read (mode 0600, like the database):
    URLs, titles and channel names are nobody else's business."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if hasattr(os, "fchmod"):  # a file made by an older version (not on Windows)
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


def setup_logging(log_dir: Path | None, console_level: int = logging.INFO,
                  console: bool = True) -> Path | None:
    """Install the console and file handlers on the `audiofetch_app` logger (idempotent)."""
    logger = logging.getLogger("audiofetch_app")
    for handler in _handlers:
        logger.removeHandler(handler)
        handler.close()
    _handlers.clear()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    formatter = RedactingFormatter(_FORMAT)
    if console:
        stream = sys.stderr if sys.stderr is not None else None
        if stream is not None:  # windowed frozen builds have no stderr
            handler = logging.StreamHandler(stream)
            handler.setLevel(console_level)
            tty = bool(getattr(stream, "isatty", lambda: False)())
            handler.setFormatter(RedactingFormatter(_FORMAT, clear_line=tty))
            handler.addFilter(JobIdFilter())
            _handlers.append(handler)
    log_path = None
    if log_dir is not None:
        log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a folder made by an older version
            os.chmod(log_dir, 0o700)
        log_path = log_dir / LOG_FILE_NAME
        file_handler = PrivateRotatingFileHandler(
            log_path, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
        )
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(formatter)
        file_handler.addFilter(JobIdFilter())
        _handlers.append(file_handler)
    for handler in _handlers:
        logger.addHandler(handler)
    # Telethon reports connection trouble itself ("Server closed the connection…"); the job
    # or command already says it in one sentence, so its records go to the file only.
    telethon = logging.getLogger("telethon")
    for handler in list(telethon.handlers):
        if getattr(handler, "_audiofetch", False):
            telethon.removeHandler(handler)
    telethon.propagate = False
    telethon.setLevel(logging.INFO)
    if log_dir is not None:
        file_handler._audiofetch = True  # type: ignore[attr-defined]
        telethon.addHandler(file_handler)
    else:
        telethon.addHandler(logging.NullHandler())
    # httpx logs full request lines at INFO; send them through our redaction at DEBUG only.
    for name in ("httpx", "httpcore"):
        other = logging.getLogger(name)
        other.setLevel(logging.WARNING)
    return log_path
