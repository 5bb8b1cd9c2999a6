"""Classifiers for the propaganda taxonomy:
image (CLIP family) and text encoders, prompt ensembles, probes, lexicon, video aggregation, the
model store.
"""
