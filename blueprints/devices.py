"""OAuth2 authorized devices: what the dashboard lists, verifies and revokes.

The two unauthenticated steps of the device flow (`/device_authorization`
and the device-code grant of `/login`) live in `blueprints.auth`.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from blueprints.context import actor, db, settings
from blueprints.contract import endpoint
from blueprints.crud import resource_routes
from store import devices as device_store

blp = Blueprint("authorized_devices", __name__, description="OAuth2 authorized devices.")

DEVICES = "/api/v1/devices"
DEVICE = "/api/v1/devices/{device_id}"

# the list shows only the caller's own devices (DeviceResource.visible)
resource_routes(blp, device_store.DEVICES, DEVICES, DEVICE, ops=("list",))


@endpoint(blp, "GET", DEVICE)
def get_authorization_device(device_id, query: dict) -> Any:
    """Get one of your devices, or an unclaimed one with its user code."""
    return device_store.get_device(
        db(), device_id, actor(), query.get("user_code"), query.get("hydrate", True)
    )


@endpoint(blp, "PUT", DEVICE)
def update_authorized_device(device_id, body: dict) -> Any:
    """Lock or unlock one of your devices."""
    return device_store.update_device(db(), device_id, body, actor())


@endpoint(blp, "PUT", DEVICE + "/verify")
def verify_authorized_device(device_id, body: dict) -> Any:
    """Verify a pending device with its user code (the dashboard's step)."""
    policy = device_store.DevicePolicy.from_settings(settings())
    return device_store.verify_device(db(), device_id, body, actor(), policy)


@endpoint(blp, "DELETE", DEVICE)
def delete_authorized_device(device_id) -> Any:
    """Delete one of your devices; its token stops working."""
    device_store.delete_device(db(), device_id, actor())
    return None
