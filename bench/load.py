"""Drive one scenario from several client processes and summarise latencies."""

from __future__ import annotations

import math
import multiprocessing
import queue as queue_module
import statistics
import time
from typing import Any

import requests

from bench.scenarios import SCENARIOS, Target


def _client(
    name: str,
    target: Target,
    duration: float,
    warmup: float,
    max_requests: int,
    barrier: Any,
    results: Any,
) -> None:
    """One client process: its own session (keep-alive), warm up, then measure."""
    try:
        call = SCENARIOS[name].call
        latencies: list[float] = []
        non_2xx = errors = 0
        with requests.Session() as session:
            end = time.monotonic() + warmup
            while time.monotonic() < end:
                try:
                    call(session, target)
                except requests.RequestException:
                    pass
            barrier.wait(timeout=120)  # every client measures the same window
            start = time.perf_counter()
            deadline = start + duration
            now = start
            while now < deadline and len(latencies) + errors < max_requests:
                try:
                    status = call(session, target)
                except requests.RequestException:
                    errors += 1
                    session.close()  # reconnect on the next call
                    now = time.perf_counter()
                    continue
                done = time.perf_counter()
                latencies.append(done - now)
                if not 200 <= status < 300:
                    non_2xx += 1
                now = done
            elapsed = now - start
        results.put({"latencies": latencies, "non_2xx": non_2xx, "errors": errors, "elapsed": elapsed})
    except KeyboardInterrupt:
        pass


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ordered list."""
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run_load(
    name: str,
    target: Target,
    clients: int,
    duration: float,
    warmup: float = 1.0,
    max_requests: int = 50_000,
) -> dict[str, Any]:
    """Run scenario `name` from `clients` processes; return its figures."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients)
    results = context.Queue()
    processes = [
        context.Process(
            target=_client,
            args=(name, target, duration, warmup, max_requests, barrier, results),
            daemon=True,
        )
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    reports = []
    try:
        deadline = time.monotonic() + warmup + duration + 180
        while len(reports) < clients:
            try:
                reports.append(results.get(timeout=1))
            except queue_module.Empty:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: clients did not report in time")
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError(f"{name}: a client process failed")
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)

    latencies = sorted(value for report in reports for value in report["latencies"])
    return {
        "requests": len(latencies),
        # Each client's throughput over its own window, summed.
        "rps": round(sum(len(r["latencies"]) / r["elapsed"] for r in reports if r["elapsed"] > 0), 1),
        "median_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        "non_2xx": sum(r["non_2xx"] for r in reports),
        "errors": sum(r["errors"] for r in reports),
    }
