"""Reference audio and scoring metrics for Parley tests and benchmarks."""
