"""`GET /artifact_versions/{id}/visualize`: a visualization's file, read by
the server, as ZenML's LoadedVisualization `{type, value}` (text for html,
markdown and csv; base64 text for images).

The file is read with `store.artifact_files`, as step logs are: only from a
`local` artifact store on this host (the single-host setup), only inside
the store, and other flavors answer 501. Zenyard's own data directory (its
keys and database) is never served, whatever a store's configured path.
"""

from __future__ import annotations

import base64
from typing import Any, Iterable

from store.crud import find_row
from store.db import Database
from store.errors import DoesNotExist

#: Visualizations are read whole (a truncated image or page is no use).
MAX_BYTES = 1 << 30


def load_visualization(db: Database, version_id: Any, index: int, protected: Iterable[str] = ()) -> dict:
    """The `index`-th visualization of an artifact version, read from its store."""
    from store.artifact_files import local_file_bytes
    from store.artifacts import ARTIFACT_VERSIONS, visualizations_of

    with db.reading() as session:
        version = find_row(session, ARTIFACT_VERSIONS, version_id)
        visuals = visualizations_of(session, [version.id]).get(version.id, [])
        if not visuals:
            raise DoesNotExist(f"Artifact '{version.id}' has no visualizations.")
        if index < 0 or index >= len(visuals):
            raise DoesNotExist(
                f"Artifact '{version.id}' only has {len(visuals)} visualizations, but index {index} was requested."
            )
        if version.artifact_store_id is None:
            raise DoesNotExist(
                f"Artifact '{version.id}' cannot be visualized because the underlying artifact store was deleted."
            )
        kind, uri, store_id = visuals[index].type, visuals[index].uri, version.artifact_store_id

    data = local_file_bytes(db, store_id, uri, 0, MAX_BYTES, protected=protected)
    if kind == "image":
        return {"type": kind, "value": base64.b64encode(data).decode("ascii")}
    return {"type": kind, "value": data.decode("utf-8", errors="replace")}
