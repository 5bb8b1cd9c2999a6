"""Review: the flag queue (numeric priority, SLA, leases), decisions and their effects, appeals,
and QA agreement (Cohen's kappa on a double-reviewed sample).

Other stages enqueue with ``queue.create_flag(conn, ...)`` and register what a settled flag
does with ``services.review_effects.register(source_kind, outcome, handler)``.
"""
