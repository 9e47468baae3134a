"""Benchmarks of the portal at county scale (issue 7): `make bench` runs run_all.py."""
