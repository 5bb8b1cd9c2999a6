"""PostgreSQL: the pool, the embedded server, and the migrations.

Tenant isolation is done by the database, not by remembering a WHERE clause: every table that
holds tenant records is put under row-level security by ``SELECT vigil_scope_table('name')`` in
its migration, and every transaction is opened with a scope:

* ``db.tenant(tenant_id)`` — the transaction sees and writes only that tenant's rows;
* ``db.system()`` — cross-tenant work (workers, key lookup, public provenance answers).

A tenant table that forgot ``vigil_scope_table`` fails ``tests/db/test_tenancy.py``.
"""

from service.db.pool import Conn, Database, in_system_scope

__all__ = ["Conn", "Database", "in_system_scope"]
