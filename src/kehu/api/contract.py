"""What the OpenAPI document promises about HTTP that FastAPI's routing does not keep.

FastAPI registers one route per path and method; Starlette then answers a method
that a path lacks with the ``Allow`` of whichever route matched first (``Allow:
POST`` on a path that also has ``GET``), and ``OPTIONS`` with that 405 too.  A
concrete path such as ``/tasks/overdue`` lends its unlisted methods to the
templated ``/tasks/{task_id}`` (``PATCH /tasks/overdue`` was a 422 about the id).
And a single-valued query parameter given twice silently kept the last value.

This middleware resolves a request against the app's OpenAPI document as
OpenAPI does -- a concrete path before a templated one, then the one with fewer
parameters -- and answers:

- ``OPTIONS``: 204 with ``Allow`` listing the path's methods (no authentication:
  the OpenAPI document says as much publicly);
- a method the path lacks: 405 with ``Allow`` and the usual error JSON;
- a single-valued query parameter given more than once: 422 ``validation_error``.

Everything else (and paths the document does not list, such as ``/docs``) goes
on to the application unchanged.  The document itself states a dictionary's key
rules with ``propertyNames``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from kehu.api.errors import error_body

HTTP_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "TRACE"})


@dataclass(frozen=True)
class _Path:
    regex: re.Pattern[str]
    #: method -> its query parameters that take one value
    single: dict[str, frozenset[str]]
    rank: tuple[int, int]  # (parameters, -literal characters): lower is more specific

    @property
    def allow(self) -> str:
        return ", ".join(sorted({*self.single, "OPTIONS"}))


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(_is_array(s) for s in schema.get("anyOf", ()))


def _table(paths: dict[str, Any]) -> list[_Path]:
    """The OpenAPI document's paths, most specific first."""
    table = []
    for template, item in paths.items():
        single = {
            method.upper(): frozenset(
                p["name"]
                for p in operation.get("parameters", ())
                if p.get("in") == "query" and not _is_array(p.get("schema", {}))
            )
            for method, operation in item.items()
            if method.upper() in HTTP_METHODS
        }
        parts = re.split(r"(\{[^}]*\})", template)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        table.append(_Path(re.compile(regex), single, (template.count("{"), -literal)))
    return sorted(table, key=lambda p: p.rank)


def _json(status: int, body: dict[str, Any], allow: str | None = None):
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if allow is not None:
        headers.append((b"allow", allow.encode()))
    return status, headers, raw


class HttpContract:
    """ASGI middleware keeping the document's methods and parameters (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._document: int | None = None
        self._paths: list[_Path] = []

    def _lookup(self, scope: Scope) -> _Path | None:
        document = scope["app"].openapi()  # cached by FastAPI; rebuilt when routes change
        if self._document != id(document):
            self._paths, self._document = _table(document.get("paths", {})), id(document)
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy prefix, as Starlette routes it
            path = path[len(root) :]
        return next((p for p in self._paths if p.regex.fullmatch(path)), None)

    def _refusal(self, scope: Scope, found: _Path) -> tuple[int, list, bytes] | None:
        method = scope["method"]
        if method == "OPTIONS":
            return 204, [(b"allow", found.allow.encode())], b""
        if method not in found.single:
            message = f"{method} is not allowed here; allowed: {found.allow}"
            return _json(405, error_body("method_not_allowed", message), found.allow)
        query = scope.get("query_string", b"").decode("latin-1")
        counts = Counter(name for name, _ in parse_qsl(query, keep_blank_values=True))
        repeated = sorted(n for n in found.single[method] if counts[n] > 1)
        if repeated:
            message = f"query parameter {repeated[0]!r} takes one value, got {counts[repeated[0]]}"
            details = [
                {"location": f"query.{n}", "message": "given more than once", "type": "repeated"}
                for n in repeated
            ]
            return _json(422, error_body("validation_error", message, details))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._lookup(scope) if scope["type"] == "http" and "app" in scope else None
        refusal = self._refusal(scope, found) if found is not None else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = refusal
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _keys_as_property_names(node: Any) -> None:
    # pydantic writes a dict's key pattern as patternProperties, which leaves the keys that do
    # not match it unconstrained; a rule on every key is propertyNames
    if isinstance(node, dict):
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1 and "additionalProperties" not in node:
            (pattern, values), *_ = patterns.items()
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
            node["additionalProperties"] = values
            del node["patternProperties"]
        for value in node.values():
            _keys_as_property_names(value)
    elif isinstance(node, list):
        for value in node:
            _keys_as_property_names(value)


def install(app: FastAPI) -> None:
    """Keep ``app``'s OpenAPI document's methods and single-valued parameters, and state its
    dictionaries' key rules as JSON Schema means them."""
    document = app.openapi  # FastAPI's, cached until the routes change

    def openapi() -> dict[str, Any]:
        built = document()
        _keys_as_property_names(built)  # in place, so once per build
        return built

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(HttpContract)
