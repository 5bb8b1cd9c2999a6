"""Generator backends:
the built-in compositor, the HTTP backend and plugins from the 'vigil.generators' entry points.
"""
