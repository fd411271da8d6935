"""The hot routes served ahead of the app's routing: the same middleware, none of the rest.

A request to `POST /v1/transfers` went through eleven ASGI layers before its endpoint: the
error middleware, FastAPI's exception telemetry and body limit, the bank's four middlewares,
the exception middleware, FastAPI's exit stack, the router and the included router's match,
and the route's own exception wrapper. Keeping the middlewares and skipping the rest took
the API process's CPU a transfer at the single-transfer peak from 297-370 µs to 246-303 µs
(docs/BENCHMARKS.md, eleventh session).

`HotRoutes` serves the routes of `serve_first` (`neobank.api.keyed`) through a stack of its
own: Starlette's error middleware with the app's handler for unexpected errors, then the
app's own middlewares (`app.user_middleware`, so one added to the app applies here too),
then the endpoint, whose exceptions go to the app's handlers as the exception middleware
would send them. Every other request goes to the app's stack, unchanged. FastAPI's exit
stack is for dependencies with `yield`, which these endpoints do not resolve, and its
exception telemetry reports to OpenTelemetry, which the bank does not configure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HotRoutes", "WithHotRoutes"]


class HotRoutes:
    """The app's ASGI stack, with the POST `routes` served by a short one of their own."""

    def __init__(self, app: FastAPI, stack: ASGIApp, routes: Iterable[Route]) -> None:
        self._stack = stack
        self._routes = {route.path: route for route in routes}
        handlers = dict(app.exception_handlers)
        unexpected = handlers.pop(Exception, None) or handlers.pop(500, None)
        hot: ASGIApp = _Endpoints(self._routes, handlers)
        for cls, args, kwargs in reversed(app.user_middleware):
            hot = cls(hot, *args, **kwargs)
        self._hot = ServerErrorMiddleware(hot, handler=unexpected, debug=app.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self._routes:
            await self._hot(scope, receive, send)
        else:
            await self._stack(scope, receive, send)


class _Endpoints:
    """Calls the route's endpoint; an exception with a handler is answered by it (the handler
    of its nearest class), any other goes up to the error middleware."""

    def __init__(self, routes: Mapping[str, Route], handlers: Mapping[Any, Any]) -> None:
        self._routes = routes
        self._handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._routes[scope["path"]]
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            handler = next(
                (self._handlers[cls] for cls in type(exc).__mro__ if cls in self._handlers), None
            )
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)


class WithHotRoutes(FastAPI):
    """A FastAPI app that serves its `hot_routes` through `HotRoutes`."""

    def __init__(self, *args: Any, hot_routes: Iterable[Route] = (), **kwargs: Any) -> None:
        self.hot_routes = tuple(hot_routes)
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return HotRoutes(self, super().build_middleware_stack(), self.hot_routes)
