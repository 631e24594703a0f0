"""Benchmarks of microcred (not tests): ``python -m bench`` prints one JSON object of results.

Every figure that the README quotes is a ratio measured side by side in one run, next to the
raw numbers it comes from: timings on a shared 2-core machine are noisy, ratios much less so.
"""
