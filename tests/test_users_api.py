"""The 8 user operations, `/current-user`, and ZenML's rules around them."""

from __future__ import annotations

from tests.conftest import ApiClient


def test_create_get_list_update_delete(client, make_user):
    user = make_user("ada", password="pw", full_name="Ada L")
    assert user["body"]["active"] is True and user["body"]["is_admin"] is False
    got = client.get("/api/v1/users/ada")
    assert got.status_code == 200 and got.json["id"] == user["id"]
    assert got.json["metadata"]["user_metadata"] == {}
    assert client.get(f"/api/v1/users/{user['id']}?hydrate=false").json["metadata"] is None
    page = client.get("/api/v1/users?name=contains:ad&hydrate=true").json
    assert [u["name"] for u in page["items"]] == ["ada"]
    updated = client.put(f"/api/v1/users/{user['id']}", json={"full_name": "Ada Lovelace", "name": "ada2"})
    assert updated.status_code == 200
    assert (updated.json["name"], updated.json["body"]["full_name"]) == ("ada2", "Ada Lovelace")
    assert client.delete("/api/v1/users/ada2").status_code == 200
    missing = client.get("/api/v1/users/ada2")
    assert missing.status_code == 404
    assert missing.json["detail"][0] == "KeyError"


def test_duplicate_name_is_409(client, make_user):
    make_user("twin")
    response = client.post("/api/v1/users", json={"name": "twin", "is_admin": False, "password": "x"})
    assert response.status_code == 409 and response.json["detail"][0] == "EntityExistsError"
    make_user("other")
    rename = client.put("/api/v1/users/other", json={"name": "twin"})
    assert rename.status_code == 409


def test_user_without_password_activates_with_its_token(client):
    created = client.post("/api/v1/users", json={"name": "newbie", "is_admin": False})
    assert created.status_code == 200
    token = created.json["body"]["activation_token"]
    assert token and created.json["body"]["active"] is False
    # the token is shown once only
    assert client.get("/api/v1/users/newbie").json["body"]["activation_token"] is None
    http = client.app.test_client(use_cookies=False)
    wrong = http.put("/api/v1/users/newbie/activate", json={"activation_token": "guess", "password": "pw"})
    assert wrong.status_code == 401
    ok = http.put("/api/v1/users/newbie/activate", json={"activation_token": token, "password": "pw"})
    assert ok.status_code == 200 and ok.json["body"]["active"] is True
    assert ApiClient(client.app, "newbie", "pw").get("/api/v1/current-user").json["name"] == "newbie"
    reuse = http.put("/api/v1/users/newbie/activate", json={"activation_token": token, "password": "x"})
    assert reuse.status_code == 401


def test_deactivate_returns_a_new_activation_token(client, make_user):
    user = make_user("sleepy")
    response = client.put(f"/api/v1/users/{user['id']}/deactivate")
    assert response.status_code == 200
    assert response.json["body"]["active"] is False and response.json["body"]["activation_token"]
    me = client.get("/api/v1/current-user").json
    myself = client.put(f"/api/v1/users/{me['id']}/deactivate")
    assert myself.status_code == 403 and myself.json["detail"] == ["IllegalOperationError", "Cannot deactivate yourself."]


def test_non_admins_see_and_change_only_themselves(client, make_user):
    make_user("plain", password="pw")
    other = make_user("bystander")
    plain = ApiClient(client.app, "plain", "pw")
    page = plain.get("/api/v1/users").json
    assert [u["name"] for u in page["items"]] == ["plain"]
    assert plain.get(f"/api/v1/users/{other['id']}").status_code == 403
    assert plain.put(f"/api/v1/users/{other['id']}", json={"full_name": "x"}).status_code == 403
    assert plain.delete(f"/api/v1/users/{other['id']}").status_code == 403
    assert plain.post("/api/v1/users", json={"name": "nope", "is_admin": False}).status_code == 403
    assert plain.put("/api/v1/current-user", json={"full_name": "Plain Jane"}).json["body"]["full_name"] == "Plain Jane"
    # is_admin cannot be granted to oneself through /current-user
    assert plain.put("/api/v1/current-user", json={"is_admin": True}).json["body"]["is_admin"] is False


def test_admin_cannot_delete_or_demote_themselves(client):
    me = client.get("/api/v1/current-user").json
    assert client.delete(f"/api/v1/users/{me['id']}").status_code == 403
    demote = client.put(f"/api/v1/users/{me['id']}", json={"is_admin": False})
    assert demote.status_code == 403


def test_password_change_needs_the_old_password(client, make_user):
    make_user("changer", password="old")
    changer = ApiClient(client.app, "changer", "old")
    missing = changer.put("/api/v1/current-user", json={"password": "new"})
    assert missing.status_code == 403
    wrong = changer.put("/api/v1/current-user", json={"password": "new", "old_password": "bad"})
    assert wrong.json["detail"] == ["IllegalOperationError", "The current password is incorrect."]
    ok = changer.put("/api/v1/current-user", json={"password": "new", "old_password": "old"})
    assert ok.status_code == 200
    ApiClient(client.app, "changer", "new")
    others = client.put("/api/v1/users/changer", json={"password": "hijack", "old_password": "new"})
    assert others.status_code == 403


def test_dashboard_survey_fields_are_stored(client):
    me = client.get("/api/v1/current-user").json
    response = client.put(
        "/api/v1/current-user",
        json={"email_opted_in": False, "user_metadata": {"awareness_channels": ["x"], "overview_tour_done": True}},
    )
    assert response.status_code == 200
    again = client.get("/api/v1/current-user").json
    assert again["body"]["email_opted_in"] is False
    assert again["metadata"]["user_metadata"]["overview_tour_done"] is True
    opt = client.put(f"/api/v1/users/{me['id']}/email-opt-in", json={"email": "a@b.c", "email_opted_in": True})
    assert opt.status_code == 200 and opt.json["metadata"]["email"] == "a@b.c"


def test_workspaces(client):
    created = client.post("/api/v1/workspaces", json={"name": "team", "description": "ours"})
    assert created.status_code == 200 and created.json["metadata"]["description"] == "ours"
    assert client.get("/api/v1/workspaces/team?hydrate=false").json["metadata"] is None
    page = client.get("/api/v1/workspaces?sort_by=desc:created").json
    assert [w["name"] for w in page["items"]] == ["team", "default"]
    updated = client.put(f"/api/v1/workspaces/{created.json['id']}", json={"description": "theirs"})
    assert updated.json["metadata"]["description"] == "theirs"
    # as in ZenML's contract, this route takes an id only
    assert client.put("/api/v1/workspaces/team", json={"description": "x"}).status_code == 422
    assert client.get("/api/v1/workspaces/team/statistics").status_code == 200
    assert client.post("/api/v1/workspaces", json={"name": "team"}).status_code == 409
    assert client.delete("/api/v1/workspaces/team").status_code == 200
    assert client.get("/api/v1/workspaces/team").status_code == 404
    refused = client.delete("/api/v1/workspaces/default")
    assert refused.status_code == 403 and refused.json["detail"][0] == "IllegalOperationError"


def test_settings_and_onboarding(client, make_user):
    settings = client.get("/api/v1/settings").json
    assert settings["body"]["server_name"] == "default" and settings["body"]["active"] is True
    assert settings["id"] == client.get("/api/v1/info").json["id"]
    updated = client.put("/api/v1/settings", json={"server_name": "yard", "display_updates": False})
    assert updated.json["body"]["server_name"] == "yard" and updated.json["body"]["display_updates"] is False
    assert client.get("/api/v1/onboarding_state").json == []
    make_user("viewer", password="pw")
    viewer = ApiClient(client.app, "viewer", "pw")
    assert viewer.put("/api/v1/settings", json={"server_name": "mine"}).status_code == 403


def test_activate_an_inactive_server(tmp_path, server_databases):
    from tests.conftest import make_app

    app = make_app("sqlite", tmp_path, server_databases, AUTO_ACTIVATE=False, DEFAULT_USER_NAME="")
    http = app.test_client()
    assert http.get("/api/v1/info").json["active"] is False
    response = http.put(
        "/api/v1/activate", json={"server_name": "fresh", "admin_username": "boss", "admin_password": "pw"}
    )
    assert response.status_code == 200 and response.json["name"] == "boss"
    assert http.get("/api/v1/info").json["active"] is True
    assert ApiClient(app, "boss", "pw").get("/api/v1/current-user").json["body"]["is_admin"] is True
    assert http.put("/api/v1/activate", json={}).status_code == 403
