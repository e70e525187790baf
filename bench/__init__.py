"""IAZE benchmarks: `make bench` (see the README's Performance section)."""
