"""Content-addressed media store: files named by their SHA-256 under ``<data_dir>/blobs``."""

from service.blobs.store import BlobStore

__all__ = ["BlobStore"]
