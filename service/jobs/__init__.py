"""A PostgreSQL job queue (SKIP LOCKED leases, heartbeats, retries, dead letters) and the worker."""
