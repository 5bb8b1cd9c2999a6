"""Transparency log: typed events, RFC 8785 canonical bytes, an RFC 9162 Merkle tree, signed
checkpoints and proofs. Flows call ``append(conn, Event(...))`` inside their own transaction: the
event is queued with their change and the sequencer puts it in the tree (``log.integrate``)."""

from service.audit.events import Event, EventName
from service.audit.log import append, append_many

__all__ = ["Event", "EventName", "append", "append_many"]
