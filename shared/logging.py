"""Structured JSON logs, one object per line, for every service and the libraries beneath it."""

import logging
import re
import sys

import structlog
from opentelemetry import trace


def configure_logging(service: str, level: str = "INFO") -> None:
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _add_trace_ids,
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared_processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _drop_color_message,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
    logging.getLogger("uvicorn.access").addFilter(_redact_link_tokens)
    # aiokafka reports every retried connection at WARNING/ERROR; the delivery layer reports what matters.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # httpx logs each request's full URL at INFO, and a webhook URL may carry the receiver's token in its path
    # or query. Notify logs every delivery itself, by channel and route, never by URL.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _add_trace_ids(
    logger: object, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    # The trace a line was written in, so that a log line about an event leads to its trace (tracing on).
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
        event_dict.setdefault("span_id", trace.format_span_id(span_context.span_id))
    return event_dict


def _drop_color_message(
    logger: object, method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    # uvicorn adds a copy of each message with terminal colour codes; JSON lines have no use for it.
    event_dict.pop("color_message", None)
    return event_dict


# Signed links carry their credential in the path (the client form, a client's page and its tickets, a view
# link): whoever reads the access log must not be able to open them.
LINK_TOKEN = re.compile(r"(/(?:f|c/answers|c/rate|c|views/links)/)[^/?#\s]+")


def redact_link_tokens(path: str) -> str:
    return LINK_TOKEN.sub(r"\1[token]", path)


def _redact_link_tokens(record: logging.LogRecord) -> bool:
    # uvicorn's access record: (client address, method, path with query, HTTP version, status code)
    if isinstance(record.args, tuple) and len(record.args) == 5:
        address, method, path, version, status_code = record.args
        record.args = (address, method, redact_link_tokens(str(path)), version, status_code)
    return True
