"""Reading files that steps wrote to a local artifact store.

Step logs and artifact visualizations live in the artifact store. When that
store is a `local` one on this machine (the single-host setup), the server
can read them; other stores answer a clear 501.

A path is only read when it lies inside the artifact store: under its
configured `path`, or, for a store without one (the default store, whose
path the client derives from the store's id), under a directory named after
the store's id. Anything else is refused, so a crafted URI cannot read
other files of the server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

from store.errors import IllegalOperation, NotFound, Unsupported

DEFAULT_LENGTH = 16 * 1024 * 1024


def _store_root(db, artifact_store_id: Any, uri: str) -> Path:
    from store.stacks import StackComponent

    with db.reading() as session:
        component = session.get(StackComponent, artifact_store_id) if artifact_store_id else None
        if component is None or component.type != "artifact_store":
            raise NotFound(f"Unable to get artifact store with ID '{artifact_store_id}'.")
        flavor, configuration, component_id = component.flavor, component.configuration or {}, str(component.id)
    if flavor != "local":
        raise Unsupported(
            f"This server cannot read from the '{flavor}' artifact store; "
            f"read the file with the ZenML client instead."
        )
    target = Path(os.path.realpath(uri))
    if configuration.get("path"):
        return Path(os.path.realpath(configuration["path"]))
    for parent in target.parents:
        if parent.name == component_id:
            return parent
    raise IllegalOperation(f"'{uri}' is not inside the artifact store {component_id}.")


def local_file_bytes(
    db, artifact_store_id: Any, uri: str, offset: int = 0, length: int | None = None, protected: Iterable[str] = ()
) -> bytes:
    """The bytes of a file (or of a directory's files, in name order) in a
    local artifact store; a negative offset counts from the end.

    `protected` folders (Zenyard's data directory: keys, database) are never
    read, whatever path a store was configured with.
    """
    target = Path(os.path.realpath(uri))
    for directory in protected:
        kept = Path(os.path.realpath(directory))
        if target == kept or kept in target.parents:
            raise IllegalOperation(f"'{uri}' is not inside the artifact store.")
    root = _store_root(db, artifact_store_id, uri)
    if target != root and root not in target.parents:
        raise IllegalOperation(f"'{uri}' is not inside the artifact store.")
    if target.is_dir():
        data = b"".join(p.read_bytes() for p in sorted(target.iterdir()) if p.is_file())
    elif target.is_file():
        data = target.read_bytes()
    else:
        raise NotFound(f"'{uri}' does not exist in the artifact store.")
    data = data[offset:]
    return data[: DEFAULT_LENGTH if length is None else length]
