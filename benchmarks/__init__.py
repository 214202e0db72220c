"""Benchmarks, run by `paspor bench <name>`; each prints ours beside the conventional alternative."""
