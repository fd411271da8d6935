"""Reading an agency's JSON answer into our own typed result (a malformed one is an outage)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from neobank.agencies.client.errors import AgencyUnavailable

__all__ = ["parse_answer"]

T = TypeVar("T")


def parse_answer(agency: str, adapter: TypeAdapter[T], answer: dict[str, Any]) -> T:
    try:
        return adapter.validate_python(answer)
    except ValidationError as exc:
        detail = f"The {agency} agency's answer does not have the expected shape"
        raise AgencyUnavailable(agency, detail) from exc
