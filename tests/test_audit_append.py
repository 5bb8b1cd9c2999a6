from uuid import uuid4

import pytest

from service.audit import Event, EventName, append, store
from service.audit.log import integrate_all


def test_append_orders_entries_and_refuses_free_text(services):
    tenant = uuid4()
    with services.db.system() as conn:
        first = append(conn, Event(EventName.KEY_CREATED, "vgl_1234abcd", tenant))
        second = append(conn, Event(EventName.KEY_REVOKED, "vgl_1234abcd", tenant, {"sha256": "ab" * 32}))
    assert second > first  # receipts, at once; the entries' indices come when they are integrated
    with services.db.system() as conn:
        integrate_all(conn)
        indices = (store.index_of_receipt(conn, first), store.index_of_receipt(conn, second))
    assert indices == (0, 1)  # in the order they were queued, dense from the start
    with pytest.raises(ValueError, match="free text"):
        Event(EventName.CONSENT_GRANTED, str(uuid4()), tenant, {"grantor": "Yelena Kirghizova"})
