"""Every table, imported in one place so `Base.metadata` knows them all."""

from store.base import Base  # noqa: F401
from store import tables  # noqa: F401
from store import code_repositories, connectors, secrets, stacks  # noqa: F401
from store import artifacts, model_registry, pipelines, runs, tags  # noqa: F401
from store import workloads  # noqa: F401
from store import devices, service_accounts  # noqa: F401
from store import services  # noqa: F401
from store import triggers  # noqa: F401
