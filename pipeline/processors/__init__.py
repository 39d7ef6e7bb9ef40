"""Processors: pure functions from raw messages to rows and dead letters (no I/O here)."""
