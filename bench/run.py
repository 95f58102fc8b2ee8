"""`make bench`: start Zenyard under gunicorn, measure each scenario, print JSON.

    python -m bench.run [--database sqlite|postgresql] [--duration 10] [--clients 4]
                        [--scenario NAME ...] [--runs 10000] [--record-duration 30]
                        [--only foundation|runs|templates]

Two parts on one server. `foundation`: the scenarios of bench/scenarios.py
(current user, hydrated user list, the /health ceiling), each from
`--clients` processes for `--duration` seconds. `runs` (bench/runs.py): the
database is seeded with `--runs` pipeline runs before the server starts;
then the hydrated reads alone, then `--clients` processes of the stock
zenml==0.66.0 client record runs while a probe lists pages. `templates`
(bench/template_runs.py): template runs on the real Docker engine, with the
Docker suite's world: trigger-to-container-start with a cached image, and
how many runs `--template-workers` Celery workers complete per minute.

Progress goes to stderr; stdout gets exactly one JSON document. All traffic
is to 127.0.0.1; the server, its temporary data directory and (on
PostgreSQL) its throwaway database are removed at the end, also on errors
and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from datetime import datetime, timezone
from typing import Any

import requests

from bench.database import DATABASES, DEFAULT_POSTGRES_URL, throwaway_database
from bench.load import run_load
from bench.scenarios import SCENARIOS, Target
from bench.seed import Seeded, seed_runs
from bench.server import BenchServer, log

PARTS = ("foundation", "runs", "templates")


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
    parser.add_argument("--database", choices=DATABASES, default="sqlite",
                        help="sqlite (default: a file in the server's data dir) or postgresql (a throwaway database)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help=f"where to create the throwaway database (default {DEFAULT_POSTGRES_URL})")
    parser.add_argument("--only", choices=PARTS, action="append", help="run only this part (default: all)")
    parser.add_argument("--runs", type=int, default=10_000, help="pipeline runs seeded (default 10000)")
    parser.add_argument("--record-duration", type=float, default=30.0,
                        help="seconds the clients record runs (default 30)")
    parser.add_argument("--samples", type=int, default=50,
                        help="requests per figure measured alone (default 50)")
    parser.add_argument("--template-samples", type=int, default=10,
                        help="template runs measured one after the other (default 10)")
    parser.add_argument("--template-burst", type=int, default=12,
                        help="template runs triggered at once for the throughput (default 12)")
    parser.add_argument("--template-workers", type=int, default=2,
                        help="Celery workers running template runs (default 2)")
    parser.add_argument("--output", metavar="PATH",
                        help="also write the JSON document to PATH (make echoes its commands to stdout)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.max_requests < 1 or args.warmup < 0:
        parser.error("--duration, --clients and --max-requests must be positive, --warmup not negative")
    if args.template_samples < 1 or args.template_burst < 1 or args.template_workers < 1:
        parser.error("--template-samples, --template-burst and --template-workers must be positive")
    if args.runs < 50 or args.record_duration <= 0 or args.samples < 1:
        parser.error("--runs must be 50 or more (a page), --record-duration and --samples positive")
    return args


def run_foundation(args: argparse.Namespace, target: Target) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in args.scenario or list(SCENARIOS):
        scenario = SCENARIOS[name]
        if scenario.setup is not None:
            log(f"{name}: setup")
            scenario.setup(target)
        log(f"{name}: {args.clients} clients for {args.duration:g}s ({scenario.description})")
        figures = run_load(name, target, args.clients, args.duration, args.warmup, args.max_requests)
        log(f"{name}: {figures}")
        results[name] = {"description": scenario.description, **figures}
    return {
        "load_generator": "the same machine, multiprocessing clients, requests.Session keep-alive",
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "results": results,
    }


def run_runs(args: argparse.Namespace, target: Target, seeded: Seeded, server_pid: int | None) -> dict[str, Any]:
    from bench.runs import measure_alone, measure_recording

    log(f"runs: {args.samples} requests of each hydrated read, alone")
    alone = measure_alone(target["url"], target["token"], args.samples)
    log(f"runs: alone {json.dumps({k: v.get('median_ms') for k, v in alone.items() if isinstance(v, dict)})}")
    loaded = measure_recording(target["url"], seeded, args.clients, args.record_duration, args.samples, server_pid)
    log(f"runs: {loaded['recording']['runs_per_s']} runs/s, page under load "
        f"{loaded['page_under_load']['median_ms']} ms (median)")
    seed = {"runs": seeded.runs, "seconds": seeded.seconds, "rows": seeded.rows,
            "what": "bulk inserts before the server starts: per run 2 completed steps, their logs, 2 artifact "
                    "versions (2 artifacts, numbered), step input/output and parent links, 4 run metadata rows"}
    figures = {"seed": seed, **loaded, **alone}
    figures["goals"] = {
        name: {"measured": figures[name]["runs_per_s" if name == "recording" else "median_ms"],
               "goal": figures[name]["goal"], "met": figures[name]["met"]}
        for name in ("recording", "page_under_load", "page_alone", "run_hydrated", "steps_hydrated")
    }
    figures["goals"]["page_under_load"]["while_runs_per_s"] = figures["page_under_load"]["while_runs_per_s"]
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = args.only or list(PARTS)
    # SIGTERM unwinds like Ctrl-C, so the server is stopped and the data removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.monotonic()
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "load_average_before": [round(value, 2) for value in os.getloadavg()],
    }
    seeded: list[Seeded] = []

    def seed(database_url: str) -> None:
        log(f"seeding {args.runs} runs")
        seeded.append(seed_runs(database_url, args.runs))
        log(f"seeded in {seeded[0].seconds}s: {seeded[0].rows}")

    if "foundation" in parts or "runs" in parts:
        with throwaway_database(args.database, args.postgres_url) as database_url:
            server = BenchServer(
                workers=args.workers, threads=args.threads, database_url=database_url,
                prepare=seed if "runs" in parts else None,
            )
            with server:
                target: Target = {"url": server.url, "token": login(server.url)}
                report["server"] = server.description
                report["database"] = server.backend
                if "foundation" in parts:
                    report["foundation"] = run_foundation(args, target)
                if "runs" in parts:
                    report["runs"] = run_runs(args, target, seeded[0], server.process.pid)
    if "templates" in parts:
        from bench.template_runs import measure_template_runs

        report["templates"] = measure_template_runs(args.template_samples, args.template_burst, args.template_workers)
        log(f"templates: {json.dumps(report['templates']['trigger_to_container_start'])}")
        log(f"templates: {json.dumps(report['templates']['throughput'])}")

    report["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    report["bench_seconds"] = round(time.monotonic() - started, 1)
    document = json.dumps(report, indent=2) + "\n"
    sys.stdout.write(document)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(document)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
