"""Transparency log: typed events, RFC 8785 canonical bytes, an RFC 9162 Merkle tree, signed
checkpoints and proofs. Flows call ``append(conn, Event(...))`` inside their own transaction."""

from service.audit.events import Event, EventName
from service.audit.log import append, append_many

__all__ = ["Event", "EventName", "append", "append_many"]
