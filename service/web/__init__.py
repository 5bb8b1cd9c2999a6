"""Server-rendered reviewer and auditor pages (Jinja2 + htmx) and their static assets."""
