"""Every error a route can answer is in the OpenAPI, in the public error shape.

Some 4xx answers come from machinery every route shares rather than from the route's code: the
bearer key (401 missing or wrong, 403 wrong scope — :mod:`ai_cs.web.deps`, checked before the
body by :mod:`ai_cs.web.keyfirst`), the per-key rate limiter (429), the body limits (413,
:mod:`ai_cs.web.limits`), unknown ids in the path (404) and request validation (422, answered as
``{"error": {"code", "message"}}`` by :mod:`ai_cs.web.errors`, not FastAPI's default shape).
:func:`document_errors` adds those to each operation by what the operation is (keyed, has path
parameters, has a body), so a route added later is documented without remembering to; answers
only one route gives (409 on a claim, 410 on an expired link) stay on the route's ``responses=``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from fastapi import FastAPI

ERROR_SCHEMA_REF: Final = "#/components/schemas/ErrorResponse"
DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Malformed request (e.g. a bad Content-Length)",
    401: "Missing, malformed, unknown, revoked or expired bearer key",
    403: "The key's scope does not allow this",
    404: "Not found (or not visible to this key)",
    409: "Conflicts with the current state",
    410: "Gone (expired)",
    413: "Request body too large",
    415: "Unsupported request body type",
    422: "Invalid parameters or body",
    429: "Rate limited (see Retry-After)",
}
_BODY_METHODS: Final = frozenset({"post", "put", "patch", "delete"})


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA_REF}}},
    }


def _components(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "ErrorBody",
        {
            "title": "ErrorBody",
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "title": "Code"},
                "message": {"type": "string", "title": "Message"},
            },
        },
    )
    schemas.setdefault(
        "ErrorResponse",
        {
            "title": "ErrorResponse",
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
        },
    )


def expected_errors(
    path: str,
    method: str,
    operation: dict[str, Any],
    *,
    keyed_prefixes: Sequence[str],
    public: Sequence[str],
    rate_limited: bool,
) -> set[int]:
    """The shared-machinery 4xx statuses ``operation`` can answer."""
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    keyed = path.startswith(tuple(keyed_prefixes)) and path not in public
    if keyed:
        statuses |= {401, 403}
        if rate_limited:
            statuses.add(429)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation or (keyed and method in _BODY_METHODS):
        statuses |= {400, 413}
    return statuses


def document_errors(
    app: FastAPI,
    *,
    keyed_prefixes: Sequence[str] = ("/api/",),
    public: Sequence[str] = (),
    rate_limited: bool = False,
) -> None:
    """Make ``app.openapi()`` list the shared 4xx answers of every operation (see the module)."""
    original: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        _components(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses: dict[str, Any] = operation["responses"]
                wanted = expected_errors(
                    path,
                    method,
                    operation,
                    keyed_prefixes=keyed_prefixes,
                    public=public,
                    rate_limited=rate_limited,
                )
                for wanted_status in sorted(wanted):
                    responses.setdefault(str(wanted_status), _error_response(wanted_status))
                for code, response in list(responses.items()):
                    # Every 4xx goes out as {"error": {...}} (422 included), whatever the route
                    # declared; a declared description is kept.
                    if code.isdigit() and 400 <= int(code) < 500:
                        described = response.get("description") or DESCRIPTIONS.get(int(code))
                        responses[code] = {
                            **_error_response(int(code)),
                            "description": described or "Error",
                        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
