"""Structured logging (structlog): console lines in development, JSON in production."""

from __future__ import annotations

import logging

import structlog

__all__ = ["configure_logging"]


def configure_logging(*, json: bool = False, level: int = logging.INFO) -> None:
    # Plain tracebacks: rich's pretty ones cost seconds per exception under load.
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
