"""Test helpers (fake services) shared by tests and benchmarks."""
