"""`make bench`: start Zenyard under gunicorn, measure each scenario, print JSON.

    python -m bench.run [--duration 10] [--clients 4] [--scenario NAME ...]

Progress goes to stderr; stdout gets exactly one JSON document. All traffic
is to 127.0.0.1; the server and its temporary data directory are removed at
the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
from typing import Any

import requests

from bench.load import run_load
from bench.scenarios import SCENARIOS, Target
from bench.server import BenchServer, log


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["usable_cores"] = len(os.sched_getaffinity(0))
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal"):
                    info["memory_gb"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                    break
    except OSError:
        pass
    return info


def login(url: str) -> str:
    reply = requests.post(f"{url}/api/v1/login", data={"username": "default", "password": ""}, timeout=30)
    reply.raise_for_status()
    return reply.json()["access_token"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per scenario (default 10)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes (default 4)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per client first (default 1)")
    parser.add_argument(
        "--max-requests", type=int, default=50_000, help="at most this many requests per client and scenario"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.max_requests < 1 or args.warmup < 0:
        parser.error("--duration, --clients and --max-requests must be positive, --warmup not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.scenario or list(SCENARIOS)
    # SIGTERM unwinds like Ctrl-C, so the server is stopped and the data removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    results: dict[str, Any] = {}
    with BenchServer(workers=args.workers, threads=args.threads) as server:
        target: Target = {"url": server.url, "token": login(server.url)}
        for name in names:
            scenario = SCENARIOS[name]
            if scenario.setup is not None:
                log(f"{name}: setup")
                scenario.setup(target)
            log(f"{name}: {args.clients} clients for {args.duration:g}s ({scenario.description})")
            figures = run_load(name, target, args.clients, args.duration, args.warmup, args.max_requests)
            log(f"{name}: {figures}")
            results[name] = {"description": scenario.description, **figures}
        server_description = server.description

    report = {
        "machine": machine(),
        "server": server_description,
        "load_generator": "the same machine, multiprocessing clients, requests.Session keep-alive",
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "results": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
