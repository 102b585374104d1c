"""Jinja2 pages for departments and admins (call api.services, never api.routes)."""
