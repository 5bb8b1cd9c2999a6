"""``/docs``: the API reference in Swagger UI, served from Vigil's own files so it works with no
network (the assets come from the pinned ``swagger-ui-py`` package: Swagger UI 5, which reads
OpenAPI 3.1), and the OpenAPI
document with the Bearer key scheme declared, so the page's Authorize button takes an API key."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
SCHEME = "vigilKey"
# Operations anyone may call: no key is asked for them in the page.
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/v1/log/key", "/v1/log/checkpoint")


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "status"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code"},
                "message": {"type": "string", "description": "What went wrong and what to do next"},
                "status": {"type": "integer"},
                "details": {"type": "object", "description": "e.g. the field, the bad lines"},
                "request_id": {"type": "string", "description": "Quote it to the operator"},
            },
        }
    },
}
_ERRORS = {
    "401": "Missing, unknown or revoked API key",
    "403": "The key's role may not do this",
    "404": "No such record, or one of another tenant",
    "409": "The record's state forbids this",
    "410": "Deliberately withdrawn (a revoked output)",
    "413": "The body is over the size limit",
    "415": "A media type Vigil does not take",
    "422": "Malformed JSON, fields or media (the message names what)",
    "503": "A component Vigil needs is down: it fails closed",
}


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation documents the error answers it can give, all in the one error shape."""
    schema["components"].setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            codes = ["422", "503"]
            if operation.get("security"):
                codes += ["401", "403"]
            if "{" in path:
                codes.append("404")
            if method in ("post", "put", "patch", "delete"):
                codes.append("409")
                body = (operation.get("requestBody") or {}).get("content") or {}
                codes.append("413")
                if "multipart/form-data" in body:
                    codes.append("415")
            if path.endswith("/output"):
                codes += ["409", "410"]
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own validation shape is not what Vigil sends
            for code in sorted(set(codes)):
                responses.setdefault(code, {"description": _ERRORS[code], "content": ref})
    return schema


def _readable_names(schema: dict[str, Any]) -> dict[str, Any]:
    """Schemas FastAPI named after their module path (two classes share a name) get a readable
    name from their package: ``service__api__check__CodeOut`` → ``CheckCodeOut``."""
    schemas = schema.get("components", {}).get("schemas", {})
    renames: dict[str, str] = {}
    for old in list(schemas):
        if "__" not in old:
            continue
        parts = old.split("__")
        package = parts[-3] if parts[-2] in ("model", "models") and len(parts) > 2 else parts[-2]
        new = "".join(p.title() for p in package.split("_")) + parts[-1]
        while new in schemas or new in renames.values():
            new += "_"
        renames[old] = new
    if not renames:
        return schema
    text = json.dumps(schema)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    out: dict[str, Any] = json.loads(text)
    found = out["components"]["schemas"]
    for old, new in renames.items():
        found[new] = found.pop(old)
        found[new]["title"] = new
    return out


def install(app: FastAPI) -> None:
    assets = resources.files("swagger_ui") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Vigil API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": False},
        )

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key: `Authorization: Bearer vgl_…` (created by `vigil keys "
                    "create` or `POST /v1/keys`; its role decides what it may call).",
                }
            }
            for path, item in schema.get("paths", {}).items():
                if path in OPEN_PATHS:
                    continue
                for operation in item.values():
                    operation.setdefault("security", [{SCHEME: []}])
            app.openapi_schema = _readable_names(_with_errors(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
