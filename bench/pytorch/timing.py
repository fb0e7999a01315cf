"""Timing for the PyTorch peers of the benchmarks: warm-up calls, then the median and minimum of timed calls (ms)."""
import statistics
import time


def times_ms(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples), min(samples)
