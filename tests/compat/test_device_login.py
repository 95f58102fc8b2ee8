"""`zenml connect --url URL` without credentials: the OAuth2 device flow.

The stock client asks for a device code, prints the verification URL (and
tries a browser; `BROWSER=true` makes that a no-op here) and polls the login
route. The test plays the user at the dashboard: it reads the URL the client
printed and verifies the device through the API as the admin, with the same
two requests the dashboard's `/devices/verify` page sends. The client then
ends up logged in with a device token.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time

import pytest

pytestmark = pytest.mark.compat

VERIFY_URL = re.compile(r"(https?://[^\s\x1b]*/devices/verify\?device_id=([0-9a-f-]{36})&user_code=([0-9a-f]+))")


class Admin:
    """The admin in the dashboard, over HTTP."""

    def __init__(self, url: str):
        import requests

        self.url = url
        self.session = requests.Session()
        login = self.session.post(f"{url}/api/v1/login", data={"username": "default", "password": ""}, timeout=30)
        login.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str, **kw):
        return self.session.get(self.url + path, timeout=30, **kw)

    def put(self, path: str, **kw):
        return self.session.put(self.url + path, timeout=30, **kw)


def _start_connect(client, url: str) -> tuple[subprocess.Popen, list[str]]:
    env = client.environ()
    env.update(ZENML_LOGGING_VERBOSITY="INFO", BROWSER="true")
    process = subprocess.Popen(
        [str(client.venv.zenml), "connect", "--url", url], cwd=client.work_dir, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return process, lines


def _wait_for_url(process, lines, timeout=90) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = VERIFY_URL.search("".join(lines))
        if match:
            return match
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the client printed no verification URL:\n" + "".join(lines))


def test_zenml_connect_with_the_device_flow(client_factory, zenyard):
    client = client_factory(zenyard, name="device")
    process, lines = _start_connect(client, zenyard.url)
    try:
        match = _wait_for_url(process, lines)
        url, device_id, user_code = match.groups()
        assert url.startswith(zenyard.url + "/devices/verify")

        admin = Admin(zenyard.url)
        # what the dashboard's verify page does: show the device, then verify it
        shown = admin.get(f"/api/v1/devices/{device_id}", params={"user_code": user_code})
        assert shown.status_code == 200, shown.text
        assert shown.json()["body"]["status"] == "pending"
        assert shown.json()["metadata"]["zenml_version"] == "0.66.0"
        verified = admin.put(f"/api/v1/devices/{device_id}/verify", json={"user_code": user_code, "trusted_device": False})
        assert verified.status_code == 200, verified.text

        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines)
    assert process.returncode == 0, output
    assert "Authorization error" not in output, output

    store = client.stored_config()["store"]
    assert store["url"] == zenyard.url and store.get("api_token")
    assert not store.get("username") and not store.get("api_key")

    out = client.run(
        """
        from zenml.client import Client

        client = Client()
        result["me"] = client.active_user.name
        result["devices"] = [(str(d.id), d.status.value, d.hostname is not None) for d in client.list_authorized_devices().items]
        """
    )
    assert out["me"] == "default"
    assert out["devices"] == [[device_id, "active", True]]

    # revoking the device from the dashboard logs the client out
    admin = Admin(zenyard.url)
    assert admin.put(f"/api/v1/devices/{device_id}", json={"locked": True}).status_code == 200
    refused = client.run(
        """
        from zenml.client import Client

        result["error"] = raises(lambda: Client().list_stacks())
        """
    )
    assert refused["error"] is not None
    assert refused["error"]["type"] == "zenml.exceptions.AuthorizationException", refused
    admin.put(f"/api/v1/devices/{device_id}", json={"locked": False})
