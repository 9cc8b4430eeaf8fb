"""Benchmark harnesses and the loopback server they (and the tests) run against.

Not part of what a user runs: the frozen app excludes this package, and `lmscales bench ...` imports it
only when asked. It may import anything in `lmscales`; nothing in `lmscales.core` or `lmscales.ui` imports it.
"""
