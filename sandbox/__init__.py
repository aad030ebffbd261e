"""Local stand-ins for the Visma Severa and Visma eEkonomi APIs (see sandbox/README.md).

Imports nothing of the product; the product never imports this package outside of
tests, demos and benchmarks.
"""
