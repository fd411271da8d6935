"""The one place where errors become RFC 9457 problem+json answers."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from neobank.api.responses import PROBLEM_MEDIA_TYPE, FastJSON
from neobank.errors import NeobankError, problem_document

__all__ = ["install_error_handlers", "problem_response"]

VALIDATION_ERRORS_SHOWN_MAX = 20

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return FastJSON(
        body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    shown = []
    for error in exc.errors()[:VALIDATION_ERRORS_SHOWN_MAX]:
        shown.append(
            {
                "location": [str(part) for part in error.get("loc", ())],
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "invalid")),
            }
        )
    return shown


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NeobankError)
    async def domain_error(request: Request, exc: NeobankError) -> Response:
        # RFC 9110 15.5.2: a 401 names the scheme the client should authenticate with.
        headers = {"WWW-Authenticate": 'Bearer realm="neobank"'} if exc.status == 401 else None
        return problem_response(exc.problem(), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        body_broken = any(e["type"] in ("json_invalid", "model_attributes_type") for e in errors)
        return problem_response(
            problem_document(
                422,
                "malformed_json" if body_broken else "validation_error",
                "The request is not valid",
                "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors[:3]),
                errors=errors,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return problem_response(
            problem_document(exc.status_code, code, str(exc.detail), str(exc.detail)),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("http.unexpected_error", path=request.url.path)
        return problem_response(
            problem_document(500, "internal_error", "Something went wrong on our side")
        )
