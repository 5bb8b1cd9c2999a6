"""Perceptual hashes (PDQ, pHash), hash banks, the match index, and bank import/export."""
