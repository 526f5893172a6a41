"""Submissions: drop a module here that calls bench.registry.register (see README.md here)."""
