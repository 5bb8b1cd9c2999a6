"""The one exception tree of Vigil.

Every error a user can meet is a ``VigilError`` with a stable ``code`` and a message that says
what to do next. Domain code raises these; only the edges (``api/``, ``web/``, ``cli/``) turn
them into HTTP statuses, exit codes and the JSON error shape.

    VigilError
    ├── InputError                 the request or file is wrong; fix it and retry
    │   ├── MalformedRequest       bad JSON, missing or invalid fields
    │   ├── UnsupportedMediaType   the bytes are of a type Vigil does not take
    │   ├── MediaRejected          truncated, corrupt, hostile or over-limit media
    │   ├── PayloadTooLarge        the upload is bigger than the configured limit
    │   ├── OutOfRange             an index or size outside what exists
    │   ├── ConsentRejected        a grant its grantors may not give under the cited rule
    │   ├── UnknownProfile         no market (label) profile of that name
    │   ├── PolicyRejected         a policy reload found an invalid file; the last good one stays
    │   └── LabelRefused           the media cannot carry a legible label for its profile
    ├── AuthError
    │   ├── Unauthenticated        no token, or one Vigil does not know
    │   └── Forbidden              a known token whose role may not do this
    ├── NotFound                   no such record (or not one this tenant may see)
    ├── Conflict                   the record is in a state that forbids the act
    │   └── LeaseLost              a job attempt lost its lease; its effects roll back
    ├── Unavailable                Vigil cannot tell right now: fail closed
    │   ├── DatabaseUnavailable
    │   ├── SigningFailed          the C2PA signer (key, callback, TSA) failed; cause logged
    │   ├── GeneratorFailed        the generator backend gave no usable output
    │   └── ModelUnavailable       a configured model is missing, corrupt or fails to load
    └── ConfigError                the instance is set up wrongly; refuse to start
        └── ProfileError           a market profile file is malformed (file and key path named)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    code: ClassVar[str] = "error"
    hint: ClassVar[str] = ""

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def diagnostics(self) -> str:
        """The message followed by what to do next, for people reading a terminal."""
        return f"{self.message} {self.hint}".strip()


class InputError(VigilError):
    code = "invalid_input"


class Gone(VigilError):
    """The thing existed and was deliberately withdrawn (a revoked output): 410."""

    code = "gone"


class MalformedRequest(InputError):
    code = "malformed_request"


class UnsupportedMediaType(InputError):
    code = "unsupported_media_type"
    hint = ""  # the supported types are listed by the raiser, from the table intake uses


class MediaRejected(InputError):
    code = "media_rejected"


class PayloadTooLarge(InputError):
    code = "payload_too_large"


class OutOfRange(InputError):
    code = "out_of_range"


class ConsentRejected(InputError):
    code = "consent_rejected"
    hint = "Check the rule in policies/consent/ named in the message (who may grant, expiry cap)."


class UnknownProfile(InputError):
    code = "unknown_profile"
    hint = "Use one of the market profiles listed, or add policies/markets/<name>.yaml."


class PolicyRejected(InputError):
    code = "policy_rejected"
    hint = "The last good policy stays in force; fix the file ('vigil policy lint' names it) and reload."


class LabelRefused(InputError):
    code = "label_refused"
    hint = "Send a larger rendition; Vigil never releases an AI output without its label."


class AuthError(VigilError):
    code = "auth_error"


class TooManyRequests(VigilError):
    """Throttled (failed authentications) or shed (a busy process): 429 or 503 with Retry-After."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after_s": max(1, round(retry_after))})


class Unauthenticated(AuthError):
    code = "unauthenticated"
    hint = "Send 'Authorization: Bearer <token>' with a key from 'vigil keys create'."


class Forbidden(AuthError):
    code = "forbidden"


class NotFound(VigilError):
    code = "not_found"


class Conflict(VigilError):
    code = "conflict"


class Unavailable(VigilError):
    code = "unavailable"
    hint = "Check GET /readyz for the component that is down."


class Overloaded(Unavailable):
    code = "overloaded"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, details={"retry_after_s": max(1, round(retry_after))})


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"
    hint = "Check that PostgreSQL is running (or DATABASE_URL is right) and run 'vigil db migrate'."


class SigningFailed(Unavailable):
    code = "signing_failed"
    hint = "Check the signing key and certificate (vigil keys init-signing), the TSA, and the logs."


class ModelUnavailable(Unavailable):
    code = "model_unavailable"
    hint = "Run 'vigil models pull' (or fix VIGIL_CLASSIFY_* settings) and check GET /readyz."


class ConfigError(VigilError):
    code = "config_error"


class ProfileError(ConfigError):
    code = "profile_error"
    hint = "Fix the named key in the market profile (see policies/markets/default.yaml)."


class LeaseLost(Conflict):
    """A job's lease ran out or was taken over: the work of this attempt must not be committed."""

    code = "lease_lost"
    hint = "Another worker owns the job now; this attempt's effects were rolled back."


class GeneratorFailed(Unavailable):
    """The generator backend gave no usable output (after its retries)."""

    code = "generator_failed"
    hint = "Check the generator backend (VIGIL_GENERATOR_BACKEND, VIGIL_GENERATOR_URL) and retry."


# An absolute file path inside a library's error text (a decoder names the file it read): the
# server's upload and temporary paths are nobody's business, so they are cut from what is said.
_PATH = re.compile(r"(?<![:/\w.])/(?:[^\s'\"/]+/)+[^\s'\",;)]*")


def public_detail(exc: BaseException) -> str:
    """A library error's text fit for a client: absolute paths replaced by ``<file>``."""
    return _PATH.sub("<file>", str(exc))
