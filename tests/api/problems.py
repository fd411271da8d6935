"""What every error answer must look like (API.md "Conventions")."""

from __future__ import annotations

import httpx

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, object]:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert all(isinstance(body[f], str) and body[f] for f in ("type", "title", "detail", "code"))
    assert str(body["type"]).endswith(str(body["code"]))
    assert "Traceback" not in response.text
    if code is not None:
        assert body["code"] == code, body
    return body
