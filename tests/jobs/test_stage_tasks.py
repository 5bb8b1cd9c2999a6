"""Every worker runs the stages' periodic work: log checkpoints and consent deletions."""

from __future__ import annotations

from service.auth import Role
from service.auth import store as auth_store
from service.composition import job_registry
from service.jobs import Worker


def test_a_worker_issues_checkpoints_and_runs_deletions(services):
    with services.db.system() as conn:
        auth_store.create_key(conn, tenant_name="acme", role=Role.PLATFORM)  # one log entry
    worker = Worker.from_settings(
        services.settings, db=services.db, registry=job_registry(services.settings), services=services
    )
    try:
        worker.run_pending()
    finally:
        worker.close()
    with services.db.system() as conn:
        schedules = dict(conn.execute("SELECT name, last_error FROM job_schedules").fetchall())
        checkpoint = conn.execute("SELECT size, note FROM audit_checkpoints ORDER BY size DESC").fetchone()
    assert schedules == {"audit.checkpoint": None, "consent.deletions": None}
    assert checkpoint is not None
    size, note = checkpoint
    assert size >= 1
    assert note.splitlines()[1] == str(size)
