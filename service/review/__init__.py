"""Review: flags, leases, decisions, appeals and agreement metrics."""
