"""problem+json answers of the simulator (RFC 9457), in the bank's own document shape."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from neobank.errors import problem_document

__all__ = ["problem_media_type", "problem_response"]

problem_media_type = "application/problem+json"


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_document(status, code, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=problem_media_type, headers=headers)
