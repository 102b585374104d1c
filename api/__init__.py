"""Greenlane's HTTP service: routes, services and persistence around the pure engine."""
