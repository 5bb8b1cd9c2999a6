"""HTTP edge: FastAPI routers that translate HTTP to domain calls and back, nothing else."""
