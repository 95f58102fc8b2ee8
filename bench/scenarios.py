"""The named scenarios `make bench` measures.

A scenario is one operation a client repeats (`call`: it returns the HTTP
status) and, optionally, a `setup` run once in the bench process before the
clients start (seeding data). Client processes look scenarios up by name,
so `call` and `setup` must be module-level functions of an imported module.

To add a figure, write the functions and `register(Scenario(...))` them,
here or in a module that `bench.run` imports.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import requests

# What the clients need to reach the server: picklable, passed to each one.
Target = dict[str, Any]  # {"url": "http://127.0.0.1:PORT", "token": "..."}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    call: Callable[[requests.Session, Target], int]
    setup: Callable[[Target], None] | None = None


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    if scenario.name in SCENARIOS:
        raise ValueError(f"scenario {scenario.name!r} is already registered")
    SCENARIOS[scenario.name] = scenario
    return scenario


def auth_headers(target: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {target['token']}"}


# --- fixtures -----------------------------------------------------------

SEED_USERS = 200


def seed_users(target: Target, count: int = SEED_USERS) -> None:
    """Make sure at least `count` users besides the default one exist."""
    with requests.Session() as session:
        reply = session.get(
            f"{target['url']}/api/v1/users", params={"size": 1}, headers=auth_headers(target), timeout=30
        )
        reply.raise_for_status()
        existing = reply.json()["total"] - 1  # the default user
    missing = range(max(0, existing), count)
    if not missing:
        return

    def create(index: int) -> None:
        reply = requests.post(
            f"{target['url']}/api/v1/users",
            json={"name": f"bench-user-{index:05d}", "is_admin": False, "password": "x"},
            headers=auth_headers(target),
            timeout=60,
        )
        reply.raise_for_status()

    # Each user costs a bcrypt hash on the server: create them in parallel.
    pool = ThreadPoolExecutor(max_workers=8)
    try:
        list(pool.map(create, missing))
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C: drop what has not started


# --- scenarios ----------------------------------------------------------


def get_current_user(session: requests.Session, target: Target) -> int:
    return session.get(f"{target['url']}/api/v1/current-user", headers=auth_headers(target), timeout=30).status_code


def list_users_hydrated(session: requests.Session, target: Target) -> int:
    return session.get(
        f"{target['url']}/api/v1/users",
        params={"hydrate": "true", "size": 50},
        headers=auth_headers(target),
        timeout=30,
    ).status_code


def get_health(session: requests.Session, target: Target) -> int:
    return session.get(f"{target['url']}/health", timeout=30).status_code


register(Scenario("current_user", "GET /api/v1/current-user (Bearer token)", get_current_user))
register(
    Scenario(
        "users_hydrated_50",
        f"GET /api/v1/users?hydrate=true&size=50 ({SEED_USERS} seeded users)",
        list_users_hydrated,
        setup=seed_users,
    )
)
register(Scenario("health_ceiling", "GET /health: same stack, no database, no auth", get_health))
