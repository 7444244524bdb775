"""Structured logging: one line per event, JSON when stderr is not a terminal.

Mention texts are never logged at INFO: log records carry ids, counts and reasons, not content.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{ts} {record.levelname:<7} {record.getMessage()}"
        if extras:
            line += f"  {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(
    level: str = "INFO", stream: TextIO | None = None, json_lines: bool | None = None
) -> None:
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json_lines is None else json_lines
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if as_json else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "alembic",
        "sentence_transformers",
        "urllib3",
        "apscheduler",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class _NotPerSource(logging.Filter):
    """Drops a source's own events below ERROR: a command's table shows each outcome once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not hasattr(record, "source")


@contextmanager
def command_logging(level: str, stream: TextIO, *, on_terminal: bool) -> Iterator[None]:
    """Logging for one command that prints a per-source table (`collect --once`).

    On a terminal, a source's failure is shown once, in the table's error column: its log
    records are not printed as well (a collector crash, logged at ERROR, still is). Elsewhere
    (cron, a pipe) the program's records go to `stream` as JSON lines, with the source and the
    reason, instead of Python's bare last-resort "source failed". Restored afterwards: only the
    `monitor` loggers are touched, never the root logger's handlers."""
    logger = logging.getLogger("monitor")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    handler = logging.StreamHandler(stream)
    if on_terminal:
        handler.setFormatter(ConsoleFormatter())
        handler.addFilter(_NotPerSource())
        handler.setLevel(logging.WARNING)
    else:
        handler.setFormatter(JsonFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
