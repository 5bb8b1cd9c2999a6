"""Transparency log:
typed events, RFC 8785 canonical bytes, an RFC 9162 Merkle tree, signed checkpoints and proofs.
"""
