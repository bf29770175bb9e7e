"""Benchmarks for reslib, run as ``python -m bench`` (or ``make bench``) from the repository root."""
