"""Greenlane's pure workflow engine: no HTTP, no SQL, no global state."""
