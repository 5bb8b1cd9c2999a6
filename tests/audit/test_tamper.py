"""Tampering with stored entries (as the database superuser) is detected and located."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.audit.sources import DatabaseSource, HttpSource
from service.audit.verify import Finding, VerifiedCheckpoint, verify
from service.auth import Role
from tests.audit.helpers import fill

SIZE = 200


@pytest.fixture
def filled(services):
    fill(services, SIZE, batch=100)
    return services


@pytest.fixture
def http_source(settings, filled, make_key):
    app = create_app(settings, services=filled)
    return HttpSource("http://testserver", make_key(Role.AUDITOR), client=TestClient(app))


def _run(source, services, previous=None, sample=None):
    signer = services.log_signer
    return verify(
        source, origin=signer.origin, public_key=signer.public_key, previous=previous, sample=sample
    )


def _superuser(database_url: str, sql: str, *params) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql, params)


def test_an_untouched_log_passes_and_saves_its_state(http_source, filled):
    report, state = _run(http_source, filled)
    assert report.passed
    assert report.checked == SIZE + 1
    assert report.mode == "all"
    assert state is not None
    assert state.size == SIZE + 1
    fill(filled, 7)
    again, _ = _run(http_source, filled, previous=state)
    assert again.passed
    assert again.previous_size == SIZE + 1
    assert again.size == SIZE + 8


def test_one_changed_byte_is_located(http_source, filled, database_url):
    _superuser(
        database_url,
        "UPDATE audit_entries SET entry = set_byte(entry, 20, get_byte(entry, 20) # 1) WHERE idx = 137",
    )
    report, state = _run(http_source, filled)
    assert state is None
    assert [(p.finding, p.index) for p in report.problems] == [(Finding.MODIFIED, 137)]
    sampled, _ = _run(DatabaseSource(filled.db, filled.log_signer.issue), filled, sample=SIZE + 1)
    assert [(p.finding, p.index) for p in sampled.problems] == [(Finding.MODIFIED, 137)]


def test_a_deleted_entry_is_located(http_source, filled, database_url):
    _superuser(database_url, "DELETE FROM audit_entries WHERE idx = 42")
    report, _ = _run(http_source, filled)
    assert [(p.finding, p.index) for p in report.problems] == [(Finding.MISSING, 42)]


def test_reordered_entries_are_located(http_source, filled, database_url):
    _superuser(
        database_url,
        "UPDATE audit_entries e SET entry = o.entry FROM audit_entries o "
        "WHERE (e.idx, o.idx) IN ((10, 11), (11, 10))",
    )
    report, _ = _run(http_source, filled)
    assert [(p.finding, p.index) for p in report.problems] == [(Finding.MODIFIED, 10), (Finding.MODIFIED, 11)]


def test_a_truncated_log_is_refused_against_the_saved_state(http_source, filled, database_url):
    _, state = _run(http_source, filled)
    assert state is not None
    _superuser(database_url, "DELETE FROM audit_entries WHERE idx >= 190")
    tail, _ = _run(http_source, filled, previous=state)
    assert [(p.finding, p.index) for p in tail.problems] == [
        (Finding.MISSING, i) for i in range(190, SIZE + 1)
    ]
    _superuser(database_url, "DELETE FROM audit_nodes WHERE idx >= (190 >> level)")
    report, _ = _run(http_source, filled, previous=state)
    assert report.problems[0].finding is Finding.SHRUNK
    assert report.problems[0].index == 190


def test_a_rewritten_history_is_inconsistent_with_the_saved_state(http_source, filled, database_url):
    _, state = _run(http_source, filled)
    assert state is not None
    forged = VerifiedCheckpoint(state.origin, state.public_key, state.size, "A" * 43 + "=")
    report, _ = _run(http_source, filled, previous=forged)
    assert report.problems[0].finding is Finding.INCONSISTENT


def test_a_checkpoint_from_another_key_is_refused(http_source, filled):
    report, state = verify(http_source, origin=filled.log_signer.origin, public_key=bytes(32))
    assert state is None
    assert report.problems[0].finding is Finding.BAD_SIGNATURE


def test_the_application_role_cannot_rewrite_entries(filled):
    with pytest.raises(psycopg.errors.InsufficientPrivilege), filled.db.system() as conn:
        conn.execute("UPDATE audit_entries SET event = 'x' WHERE idx = 1")


def _rewrite_entry_and_tree(database_url: str, index: int) -> None:
    """What a database superuser can do: change an entry and recompute every stored node above it,
    so the stored tree agrees with the forged entry (Vigil's signing key stays out of reach)."""
    from service.audit import merkle

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE audit_entries SET entry = set_byte(entry, 20, get_byte(entry, 20) # 1) WHERE idx = %s",
            (index,),
        )
        (entry,) = conn.execute("SELECT entry FROM audit_entries WHERE idx = %s", (index,)).fetchone()
        nodes = {(lv, ix): bytes(h) for lv, ix, h in conn.execute("SELECT level, idx, hash FROM audit_nodes")}
        nodes[(0, index)] = merkle.leaf_hash(bytes(entry))
        level = 1
        while (level, index >> level) in nodes:
            i = index >> level
            nodes[(level, i)] = merkle.node_hash(nodes[(level - 1, 2 * i)], nodes[(level - 1, 2 * i + 1)])
            conn.execute(
                "UPDATE audit_nodes SET hash = %s WHERE level = %s AND idx = %s",
                (nodes[(level, i)], level, i),
            )
            level += 1
        conn.execute(
            "UPDATE audit_nodes SET hash = %s WHERE level = 0 AND idx = %s", (nodes[(0, index)], index)
        )


def test_a_rewritten_tree_is_caught_by_the_checkpoints_vigil_signed_before(http_source, filled, database_url):
    """The issue's case: entry 159 changed and the stored tree recomputed, then one more entry
    appended. Each run signs the forged tree afresh, but the checkpoints Vigil signed earlier
    (here at 150, 160 and 180 entries) contradict it, without any --state file."""
    for size in (150, 160, 180):
        with filled.db.system() as conn:
            filled.log_signer.issue(conn, size)
    _rewrite_entry_and_tree(database_url, 159)
    fill(filled, 1)
    for source in (http_source, DatabaseSource(filled.db, filled.log_signer.issue)):
        report, state = _run(source, filled)
        assert state is None
        [problem] = [p for p in report.problems if p.finding is Finding.INCONSISTENT]
        assert problem.index == 150
        assert "entries 150..159 changed" in problem.detail
