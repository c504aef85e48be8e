"""Measuring: metrics, intervals, paired tests, gates and baselines. No model calls."""
