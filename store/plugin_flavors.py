"""Plugin flavors: the event-source and action flavors ZenML's plugin
registry holds, read from the catalog generated from zenml==0.66.0."""

from __future__ import annotations

import math

from store import catalog
from store.errors import BadRequest, InvalidInput, NotFound
from store.filtering import PAGE_SIZE_MAXIMUM


def _flavors(plugin_type: str, subtype: str) -> list[dict]:
    return [f for f in catalog.plugin_flavors() if f["type"] == plugin_type and f["subtype"] == subtype]


def _shown(flavor: dict, hydrate: bool) -> dict:
    return {**flavor, "metadata": flavor["metadata"] if hydrate else None}


def list_plugin_flavors(plugin_type: str, subtype: str, page: int, size: int, hydrate: bool) -> dict:
    """A page of the flavors of one plugin type and subtype, in registry order."""
    if page < 1 or not 1 <= size <= PAGE_SIZE_MAXIMUM:
        raise InvalidInput(f"page must be at least 1 and size between 1 and {PAGE_SIZE_MAXIMUM}.")
    flavors = _flavors(plugin_type, subtype)
    total = len(flavors)
    total_pages = max(1, math.ceil(total / size))
    if page > total_pages:
        raise BadRequest(
            f"Invalid page {page}. The requested page size is {size} and there are a total of "
            f"{total} items for this query. The maximum page value therefore is {total_pages}."
        )
    start = (page - 1) * size
    return {
        "index": page,
        "max_size": size,
        "total_pages": total_pages,
        "total": total,
        "items": [_shown(f, hydrate) for f in flavors[start:start + size]],
    }


def get_plugin_flavor(name: str, plugin_type: str, subtype: str) -> dict:
    for flavor in _flavors(plugin_type, subtype):
        if flavor["name"] == name:
            return _shown(flavor, hydrate=True)
    raise NotFound(f"No flavor class found for flavor name {name} at type {plugin_type} and subtype {subtype}.")
