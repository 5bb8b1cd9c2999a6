"""``/verify``: the auditor's page. Upload a file, read what its provenance proves.

Authentication is by API key typed into the form and sent in the POST body together with the
file (never in a URL, never stored in a cookie); the key needs the auditor, platform or admin
role, as for ``POST /v1/verify``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from service import errors
from service.api.deps import ServicesDep, authenticate
from service.api.errors import status_of
from service.api.provenance import verify_upload
from service.auth import Role
from service.web import templates

router = APIRouter(tags=["pages"], include_in_schema=False)

_ALLOWED = frozenset({Role.AUDITOR, Role.PLATFORM, Role.ADMIN})
_BANNERS = {
    "trusted": "Trusted: intact, signed by a signer this verifier trusts",
    "valid": "Valid: intact, but the signer is not on a trusted list",
    "invalid": "Invalid: the file or its manifest was altered, or the certificate is bad",
    "absent": "No provenance in this file",
}


def _page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "verify.html", {"banners": _BANNERS, **context}, status_code=status
    )


@router.get("/verify", response_class=HTMLResponse)
def verify_form(request: Request) -> HTMLResponse:
    return _page(request)


@router.post("/verify", response_class=HTMLResponse)
def verify_submit(
    request: Request,
    services: ServicesDep,
    file: UploadFile = File(),
    api_key: str = Form(""),
) -> HTMLResponse:
    try:
        token = api_key.strip()
        if not token:
            raise errors.Unauthenticated("Enter an API key with the auditor, platform or admin role.")
        principal = authenticate(request, services, token)
        if principal is None:
            raise errors.Unauthenticated("The API key is unknown or revoked.")
        if principal.role not in _ALLOWED:
            raise errors.Forbidden(f"A {principal.role} key may not verify; use an auditor or platform key.")
        report = verify_upload(file, services)
    except errors.VigilError as exc:
        return _page(request, status_of(exc), error=exc.diagnostics())
    return _page(request, report=report.to_dict())
