"""Request bodies validated straight from the raw bytes (`model_validate_json`).

FastAPI decodes a JSON body into Python objects and then validates those: two passes, the
second the slower one. A hot route declares its body as `Annotated[Parsed[M], Depends(
JsonBody(M))]` instead: one pass in pydantic-core when the body is valid, which is the common
case. Anything else (invalid JSON, a body that is not an object, a field that fails, another
media type) falls back to exactly what FastAPI does, so that the answers, their order and the
error details stay the same: a JSON syntax error is answered before the route's other
dependencies run (auth included), a validation error after them (`Parsed.get`).

The OpenAPI document still describes the body: `JsonBody.openapi` is the route's
`openapi_extra`, and `install_body_schemas` adds the models to the components.
"""

from __future__ import annotations

import email.message
import functools
import json
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

__all__ = ["JsonBody", "Parsed", "install_body_schemas"]

M = TypeVar("M", bound=BaseModel)

_REF_TEMPLATE = "#/components/schemas/{model}"
_BODY_MODELS: list[type[BaseModel]] = []


class Parsed(Generic[M]):
    """A validated body, or the validation errors to answer once the other checks passed."""

    __slots__ = ("_errors", "_value")

    def __init__(self, value: M | None, errors: list[Any] | None = None) -> None:
        self._value = value
        self._errors = errors

    def get(self) -> M:
        if self._value is None:
            raise RequestValidationError(self._errors or [])
        return self._value


class JsonBody(Generic[M]):
    """The dependency: validates the request's body as a `model`."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        _BODY_MODELS.append(model)
        self.openapi: dict[str, Any] = {
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {"$ref": _REF_TEMPLATE.format(model=model.__name__)}
                    }
                },
                "required": True,
            }
        }

    async def __call__(self, request: Request) -> Parsed[M]:
        raw = await request.body()
        content_type = request.headers.get("content-type")
        if raw and content_type and _is_json(content_type):
            try:
                return Parsed(self.model.model_validate_json(raw))
            except ValidationError:
                pass  # answered below, exactly as FastAPI answers it
        return self._as_fastapi_does(request, raw)

    def _as_fastapi_does(self, request: Request, raw: bytes) -> Parsed[M]:
        """FastAPI's own body handling (fastapi.routing.get_request_handler), for the bodies the
        fast path refused: the same error types, messages and locations."""
        body: Any = None
        if raw:
            body = raw
            content_type = request.headers.get("content-type")
            if content_type and _is_json(content_type):
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise RequestValidationError(
                        [
                            {
                                "type": "json_invalid",
                                "loc": ("body", exc.pos),
                                "msg": "JSON decode error",
                                "input": {},
                                "ctx": {"error": exc.msg},
                            }
                        ]
                    ) from exc
                except Exception as exc:
                    raise HTTPException(400, "There was an error parsing the body") from exc
        if body is None:
            return Parsed(None, [{"type": "missing", "loc": ("body",), "msg": "Field required"}])
        try:
            return Parsed(self.model.model_validate(body, from_attributes=True))
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            return Parsed(None, errors)


@functools.lru_cache(maxsize=64)
def _is_json(content_type: str) -> bool:
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def install_body_schemas(app: FastAPI) -> None:
    """Adds the schemas of the `JsonBody` models to the app's OpenAPI components."""

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            _, definitions = models_json_schema(
                [(model, "validation") for model in _BODY_MODELS], ref_template=_REF_TEMPLATE
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in definitions.get("$defs", {}).items():
                components.setdefault(name, definition)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
