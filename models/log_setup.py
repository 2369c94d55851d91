"""Configures logging once per process: structlog and the stdlib loggers through one handler,
pretty in a terminal (`NURTURE_LOG_FORMAT=console`) or one JSON object a line (`json`).

Every line carries `timestamp` (ISO 8601, UTC), `level`, `logger` and `event`, plus the keys the
caller gave (structlog keywords, or `extra=` on a stdlib logger). Libraries that would log
payloads (SQL parameters, SendGrid request bodies and headers) are held at WARNING whatever the
level, so that DEBUG never writes an address, a name or a secret.
"""

from __future__ import annotations

import logging
import sys
from typing import IO

import structlog
from structlog.typing import EventDict, Processor
from temporalio import activity, workflow

from models.settings import Settings

#: Loggers that write request bodies, SQL parameters or credentials below WARNING.
PAYLOAD_LOGGERS = (
    "sqlalchemy",  # SQL with its parameters (addresses, names) at INFO once the root is at INFO
    "python_http_client",  # the sendgrid client: whole mail payload and API key at DEBUG
    "httpx",  # request URLs (tokens in unsubscribe links) at INFO
    "httpcore",
    "multipart",  # Inbound Parse field values at DEBUG
    "hpack",
)

#: The access line of uvicorn has the raw path (tokens) and the client's address: the API writes
#: its own line per request instead (`api/access_log.py`).
UVICORN_ACCESS = "uvicorn.access"

_HANDLER_NAME = "nurture"

#: Extras some libraries attach that only repeat the message (uvicorn's ANSI-coloured copy).
_DROPPED_EXTRAS = ("color_message",)


def _drop_extras(_logger: object, _name: str, event_dict: EventDict) -> EventDict:
    for key in _DROPPED_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        _drop_extras,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _renderer(log_format: str, stream: IO[str]) -> list[Processor]:
    if log_format == "json":
        # Plain traceback text: no local variables (they may hold personal data).
        return [
            structlog.processors.format_exc_info,
            structlog.processors.UnicodeDecoder(),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    return [
        structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    ]


def configure_logging(
    settings: Settings | None = None,
    *,
    log_format: str | None = None,
    level: str | None = None,
    stream: IO[str] | None = None,
) -> None:
    """Route structlog and stdlib logging to one handler on `stream` (stderr by default).

    Arguments override the settings. Calling it again replaces the previous configuration.
    """
    log_format = log_format or (settings.log_format if settings else "console")
    level_name = (level or (settings.log_level if settings else "INFO")).upper()
    stream = stream or sys.stderr
    shared = _shared_processors()

    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderer(log_format, stream),
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level_name)

    floor = max(logging.WARNING, logging.getLevelNamesMapping()[level_name])
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(floor)
    # uvicorn installs its own handlers before it loads the app: send its lines through ours.
    for name in ("uvicorn", "uvicorn.error", UVICORN_ACCESS):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger(UVICORN_ACCESS).setLevel(logging.WARNING)
    # Temporal's loggers add the workflow / activity info as a key (`temporal_workflow`,
    # `temporal_activity`); rendered as keys, they need not be repeated in the message too.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a later configure_logging() (or structlog.testing.capture_logs) applies to
        # loggers already created at import time.
        cache_logger_on_first_use=False,
    )


__all__ = ["PAYLOAD_LOGGERS", "configure_logging"]
