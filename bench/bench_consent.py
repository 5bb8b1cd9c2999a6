"""Consent evaluation with 5 subjects against PostgreSQL: p50 and p95 of the full check
(tenant transaction + one query that loads subjects, grants and directives + evaluate).

Starts a throwaway embedded PostgreSQL, applies the real migrations, and prints one JSON object.
Usage: .venv/bin/python bench/bench_consent.py [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Run from a checkout: this repository's ``service`` package, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.auth import store as auth_store
from service.composition import open_services
from service.consent import evaluate, registry, store
from service.consent.model import (
    Audience,
    ConsentRequest,
    DirectiveType,
    Grantor,
    Modality,
    Purpose,
    Relationship,
    Scope,
    SubjectKind,
    VitalStatus,
)
from service.db.embedded import EmbeddedPostgres
from service.services import Services
from service.settings import Settings

TARGET_P50_MS = 5.0


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vigil-bench-consent-"))
    server = EmbeddedPostgres(pgdata=root / "pg")
    uri = server.start()
    try:
        settings = Settings(data_dir=root / "data", database_url=uri, log_json=False, db_pool_min=1)
        services = open_services(settings)
        try:
            print(json.dumps(_run(services, args.iterations)))
        finally:
            services.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _run(services: Services, iterations: int) -> dict[str, object]:
    now = datetime.now(UTC)
    everything = Scope(frozenset(Modality), frozenset(Purpose), frozenset(Audience), frozenset({"*"}))
    with services.db.system() as conn:
        tenant = auth_store.ensure_tenant(conn, "bench").id
    t = tenant
    with services.db.tenant(t) as conn:
        husband = registry.create_subject(
            conn,
            tenant_id=t,
            kind=SubjectKind.HUMAN,
            vital_status=VitalStatus.DECEASED,
            name="h",
            jurisdiction="RU",
            birth_date=date(1988, 1, 1),
            death_date=date(2024, 2, 1),
        )
        widow = registry.create_subject(
            conn,
            tenant_id=t,
            kind=SubjectKind.HUMAN,
            vital_status=VitalStatus.LIVING,
            name="w",
            jurisdiction="RU",
            birth_date=date(1990, 1, 1),
        )
        kids = [
            registry.create_subject(
                conn,
                tenant_id=t,
                kind=SubjectKind.HUMAN,
                vital_status=VitalStatus.LIVING,
                name="k",
                jurisdiction="RU",
                birth_date=date(2016 + i, 1, 1),
            )
            for i in range(2)
        ]
        dog = registry.create_subject(
            conn,
            tenant_id=t,
            kind=SubjectKind.ANIMAL,
            vital_status=VitalStatus.LIVING,
            name="d",
            jurisdiction="RU",
        )
        expires = now + timedelta(days=365)
        for _ in range(3):  # a realistic history: several grants per subject
            registry.create_grant(
                conn,
                services.consent_rules,
                tenant_id=t,
                subject_id=husband.id,
                grantors=[Grantor("w", Relationship.SPOUSE, True)],
                legal_basis="RU-CC-152.1",
                scope=everything,
                expires_at=expires,
                now=now,
            )
            registry.create_grant(
                conn,
                services.consent_rules,
                tenant_id=t,
                subject_id=widow.id,
                grantors=[Grantor("w", Relationship.SELF, True)],
                legal_basis="self",
                scope=everything,
                expires_at=expires,
                now=now,
            )
            for kid in kids:
                registry.create_grant(
                    conn,
                    services.consent_rules,
                    tenant_id=t,
                    subject_id=kid.id,
                    grantors=[Grantor("w", Relationship.PARENT, True)],
                    legal_basis="guardian",
                    scope=everything,
                    expires_at=now + timedelta(days=300),
                    now=now,
                )
        registry.create_directive(
            conn,
            tenant_id=t,
            subject_id=husband.id,
            type=DirectiveType.DO_NOT_RECREATE,
            modalities=[Modality.NAME],
        )
    request = ConsentRequest.from_spec(
        {
            "subjects": [
                {"subject_id": str(s.id), "appears_as": "likeness"} for s in (husband, widow, *kids, dog)
            ],
            "market": "ru",
            "purpose": "private_memorial",
            "audience": "family",
            "output": "video",
        }
    )
    rules = services.consent_rules
    for _ in range(50):  # warm the pool and the plan cache
        with services.db.tenant(t) as conn:
            decision = registry.check_request(conn, rules, request, at=now)
    assert decision.decision.value == "needs_review", decision
    empty: list[float] = []  # the tenant transaction alone (pool, BEGIN, set_config, COMMIT)
    for _ in range(iterations):
        start = time.perf_counter()
        with services.db.tenant(t):
            pass
        empty.append(time.perf_counter() - start)
    full: list[float] = []
    enter: list[float] = []
    leave: list[float] = []
    load: list[float] = []
    pure: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        with services.db.tenant(t) as conn:
            loaded = time.perf_counter()
            records = store.load_records(conn, (s.subject_id for s in request.subjects))
            fetched = time.perf_counter()
            evaluate(request, records, rules, at=now)
            done = time.perf_counter()
        end = time.perf_counter()
        full.append(end - start)
        enter.append(loaded - start)
        leave.append(end - done)
        load.append(fetched - loaded)
        pure.append(done - fetched)
    return {
        "bench": "consent",
        "subjects": len(request.subjects),
        "grants_per_subject": 3,
        "iterations": iterations,
        "evaluate_p50_ms": _ms(full, 0.5),
        "evaluate_p95_ms": _ms(full, 0.95),
        "evaluate_mean_ms": round(statistics.fmean(full) * 1000, 3),
        "target_p50_ms": TARGET_P50_MS,
        "meets_target": _ms(full, 0.5) <= TARGET_P50_MS,
        "tenant_transaction_alone_p50_ms": _ms(empty, 0.5),
        "open_transaction_p50_ms": _ms(enter, 0.5),
        "load_query_p50_ms": _ms(load, 0.5),
        "pure_evaluate_p50_ms": _ms(pure, 0.5),
        "commit_p50_ms": _ms(leave, 0.5),
        "queries_per_evaluation": 1,
        "round_trips_note": "one SELECT loads every subject, grant and directive; the tenant "
        "transaction adds BEGIN + set_config and COMMIT",
    }


if __name__ == "__main__":
    main()
