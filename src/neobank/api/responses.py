"""Fast JSON responses (orjson) and answers replayed from idempotency keys."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from neobank.idempotency import StoredAnswer

PROBLEM_MEDIA_TYPE = "application/problem+json"

__all__ = ["FastJSON", "answer_response"]


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def answer_response(answer: StoredAnswer, *, replayed: bool) -> Response:
    media_type = PROBLEM_MEDIA_TYPE if answer.status_code >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(
        orjson.dumps(answer.body),
        status_code=answer.status_code,
        media_type=media_type,
        headers=headers,
    )
