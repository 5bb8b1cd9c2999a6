"""Vigil: a consent, disclosure and provenance gateway for generative media.

The package is laid out after the two flows `docs/architecture.md` describes (generation and check): stage
packages (consent, classify, match, policy, labels, provenance, generate, jobs, review, audit) do
one thing each; ``pipeline`` knows the order of steps; ``api``, ``web`` and ``cli`` are the edges
that translate to and from HTTP and argv. ``composition`` is the one place where a process is
assembled: the services, the two flows, the review effects and the job kinds.
"""

__version__ = "0.1.0"
