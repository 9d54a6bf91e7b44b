"""Request bodies are limited in size and in time while they stream in.

A body larger than its limit answers 413 as soon as the limit is passed: at once when the
``Content-Length`` says so, else when the bytes read so far pass it (chunked transfer), so a
100 MB body is never held in memory. A body that has not arrived in full within the timeout
answers 408. Both close the connection. With the handlers reading the whole body before they
open a transaction (``web/deps.py`` ``body_first``), a slow or huge body holds no database lock
and no place at the write gate (issue 13, items 2 and 11).

Plain ASGI around ``receive``: the limits apply wherever the body is read (FastAPI's JSON and
form parsing, ``request.body()`` in a dependency), and cost nothing on requests without one.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Routes that take a whole patient record (diary document, FHIR Bundle, CSV) get the
# import limit; every other body the general one.
IMPORT_PATHS = re.compile(r"^/api/v1/patients/[^/]+/import/?$")
CLOSE = {"Connection": "close"}


class BodyRefused(HTTPException):
    """413 or 408, raised from ``receive``; the app's HTTP error handler answers it (JSON
    ``detail``), or :class:`BodyLimits` does when it reaches the middleware."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(status_code, detail, headers=CLOSE)


def too_large(limit: int) -> BodyRefused:
    return BodyRefused(413, f"the request body may be at most {limit} bytes")


def too_slow(seconds: float) -> BodyRefused:
    return BodyRefused(408, f"the request body did not arrive within {seconds:g} seconds")


class BodyLimits:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, import_bytes: int, timeout_seconds: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.import_bytes = import_bytes
        self.timeout = timeout_seconds

    def limit_for(self, path: str) -> int:
        return self.import_bytes if IMPORT_PATHS.match(path) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, too_large(limit))  # before a byte of the body is read
            return
        deadline = anyio.current_time() + self.timeout
        received = 0
        finished = False  # the whole body arrived (or the client left)
        started = False  # the response began: what is read now is no longer the body

        async def limited_receive() -> Message:
            nonlocal received, finished
            if finished or started:
                return await receive()
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    message = await receive()
            except TimeoutError:
                raise too_slow(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
                finished = not message.get("more_body", False)
            else:
                finished = True
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyRefused as exc:  # raised where no error handler caught it
            if started:
                raise
            await _answer(send, exc)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer(send: Send, exc: BodyRefused) -> None:
    body = json.dumps({"detail": exc.detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
