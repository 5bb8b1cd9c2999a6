"""Text PostgreSQL cannot store (NUL, unpaired surrogates) is a 422 naming the field, in every text
field of every operation, before any work is done; and an unexpected error is a 500 that carries
its request id and leaves the connection open."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.audit.log import integrate_all
from service.auth import Role
from service.services import Services
from tests.conftest import KeyMaker, bearer

BAD = ("a\x00b", "a\ud800b")


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _string_paths(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Iterator[tuple[str, ...]]:
    """Every path (property names; "0" for an array item) to a string in a request schema."""
    schema = _resolve(schema, spec)
    if depth > 4:
        return
    variants = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if variants:
        for variant in variants:
            yield from _string_paths(variant, spec, depth + 1)
        return
    kind = schema.get("type")
    if kind == "string" and "enum" not in schema and schema.get("format") not in ("binary", "uuid"):
        yield ()
    elif kind == "object":
        for name, prop in (schema.get("properties") or {}).items():
            for rest in _string_paths(prop, spec, depth + 1):
                yield (name, *rest)
    elif kind == "array":
        for rest in _string_paths(schema.get("items") or {}, spec, depth + 1):
            yield ("0", *rest)


def _body(path: tuple[str, ...], value: str) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    return [_body(rest, value)] if head == "0" else {head: _body(rest, value)}


def _field(path: tuple[str, ...]) -> str:
    out = "body"
    for part in path:
        out += f"[{part}]" if part == "0" else f".{part}"
    return out


def _json_cases(spec: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    cases = []
    for route, item in spec["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content") or {}
            if "application/json" in content:
                for path in _string_paths(content["application/json"]["schema"], spec):
                    cases.append((method.upper(), route, path))
    return cases


async def test_every_json_text_field_refuses_unstorable_text(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    spec = (await client.get("/openapi.json")).json()
    cases = _json_cases(spec)
    assert len(cases) >= 20, cases  # the schema walk found the API's text fields
    admin = bearer(make_key(Role.ADMIN))
    for method, route, path in cases:
        url = route.replace("{", "").replace("}", "")  # placeholders: never reached
        for bad in BAD:
            body = json.dumps(_body(path, bad)).encode()  # \u0000 / \ud800 escapes, valid JSON
            r = await client.request(
                method, url, content=body, headers={**admin, "Content-Type": "application/json"}
            )
            assert r.status_code == 422, (method, route, path, r.text)
            error = r.json()["error"]
            assert error["details"]["field"] == _field(path), (route, error)
            assert "cannot be stored" in error["message"]
            assert error["request_id"] == r.headers["x-request-id"]


async def test_a_check_with_a_nul_in_its_caption_is_422_and_writes_nothing(
    client: httpx.AsyncClient, make_key: KeyMaker, services: Services
) -> None:
    platform = bearer(make_key(Role.PLATFORM))
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        before = conn.execute("SELECT count(*) FROM audit_entries").fetchone()
    for field in ("text", "market"):
        form = {"text": "Forever a hero", field: "glory\x00to heroes"}
        r = await client.post("/v1/check", data=form, headers=platform)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["field"] == f"form.{field}"
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        after = conn.execute("SELECT count(*) FROM audit_entries").fetchone()
    assert after == before
    # The same connection keeps serving.
    assert (
        await client.post("/v1/check", data={"text": "Happy birthday"}, headers=platform)
    ).status_code == 200


async def test_a_generation_spec_with_a_nul_is_422_naming_the_field(
    client: httpx.AsyncClient, make_key: KeyMaker
) -> None:
    studio = bearer(make_key(Role.STUDIO))
    spec = {
        "subjects": [{"subject_id": "00000000-0000-4000-8000-000000000000", "appears_as": "likeness"}],
        "market": "default", "purpose": "private_memorial", "audience": "family", "output": "image",
        "prompt": "A quiet portrait\u0000", "caption": "Forever with us",
    }  # fmt: skip
    files = {"photos": ("p.jpg", b"\xff\xd8\xff", "image/jpeg")}
    r = await client.post("/v1/generations", data={"spec": json.dumps(spec)}, files=files, headers=studio)
    assert r.status_code == 422, r.text
    assert "spec.prompt" in r.json()["error"]["message"]


async def test_a_review_form_with_a_nul_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/review/login", data={"token": "vgl_\x00", "csrf": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "form.token"


@pytest.fixture
def failing_route(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]

    @app.get("/v1/test-explodes")
    def explode() -> None:
        raise RuntimeError("boom")


@pytest.mark.usefixtures("failing_route")
async def test_an_unexpected_error_is_a_500_with_its_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/test-explodes", headers={"X-Request-Id": "trace-123"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "trace-123"
    error = r.json()["error"]
    assert (error["code"], error["request_id"]) == ("internal", "trace-123")
    assert "trace-123" in error["message"]
    assert "boom" not in r.text
    assert (await client.get("/healthz")).status_code == 200


async def test_a_json_body_that_is_not_utf8_is_422(client: httpx.AsyncClient, make_key: KeyMaker) -> None:
    admin = bearer(make_key(Role.ADMIN))
    body = '{"name": "caf\xe9"}'.encode("latin-1")
    r = await client.post("/v1/subjects", content=body, headers={**admin, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "UTF-8" in r.json()["error"]["message"]


async def test_the_api_reference_works_offline_and_declares_the_key_scheme(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    script = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert (script.status_code, len(script.content) > 100_000) == (200, True)
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["vigilKey"]["scheme"] == "bearer"
    check = spec["paths"]["/v1/check"]["post"]
    assert check["security"] == [{"vigilKey": []}]
    assert {"401", "403", "413", "415", "422"} <= set(check["responses"])
    assert check["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert not [name for name in spec["components"]["schemas"] if "__" in name]
