"""The two flows (generation.py, check.py): the only modules that know the order of steps."""
