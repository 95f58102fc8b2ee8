"""Login, tokens, cookies and the 401s the ZenML client relies on."""

from __future__ import annotations

from datetime import timedelta

from flask_jwt_extended import create_access_token

from tests.conftest import ApiClient


def test_login_answers_a_bearer_token_and_sets_the_zenml_cookie(app):
    http = app.test_client()
    response = http.post("/api/v1/login", data={"username": "default", "password": ""})
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "bearer" and body["access_token"]
    assert body["expires_in"] == 24 * 60 * 60
    server_id = http.get("/api/v1/info").json["id"]
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"zenml-server-{server_id}={body['access_token']};")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    # the cookie alone authenticates
    me = http.get("/api/v1/current-user")
    assert me.status_code == 200 and me.json["name"] == "default"


def test_wrong_password_is_the_clients_authorization_exception(app):
    response = app.test_client().post("/api/v1/login", data={"username": "default", "password": "nope"})
    assert response.status_code == 401
    assert response.json == {
        "detail": ["AuthorizationException", "Authentication error: invalid username or password"]
    }
    unknown = app.test_client().post("/api/v1/login", data={"username": "ghost", "password": ""})
    assert unknown.status_code == 401


def test_protected_routes_need_a_valid_token(app):
    http = app.test_client(use_cookies=False)
    for path in ("/api/v1/current-user", "/api/v1/users", "/api/v1/workspaces", "/api/v1/settings"):
        response = http.get(path)
        assert response.status_code == 401, path
        assert response.json["detail"][0] == "AuthorizationException"
    bad = http.get("/api/v1/current-user", headers={"Authorization": "Bearer not.a.jwt"})
    assert bad.status_code == 401 and bad.json["detail"][0] == "AuthorizationException"


def test_public_routes_answer_without_a_token(app):
    http = app.test_client(use_cookies=False)
    assert http.get("/health").json == "OK"
    assert http.get("/api/v1/version").json == "0.66.0"
    info = http.get("/api/v1/info").json
    assert info["version"] == "0.66.0" and info["auth_scheme"] == "OAUTH2_PASSWORD_BEARER"
    assert info["analytics_enabled"] is False and info["database_type"] in ("sqlite", "mysql", "other")


def test_expired_token_is_401_and_a_new_login_works(app):
    with app.app_context():
        default_id = ApiClient(app).get("/api/v1/current-user").json["id"]
        expired = create_access_token(identity=default_id, expires_delta=timedelta(seconds=-5))
    http = app.test_client(use_cookies=False)
    response = http.get("/api/v1/current-user", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json == {"detail": ["AuthorizationException", "Authentication error: the token has expired."]}
    fresh = ApiClient(app)
    assert fresh.get("/api/v1/current-user").status_code == 200


def test_a_token_used_while_valid_is_refused_once_it_expires(sqlite_app):
    """Verified tokens are remembered (extensions.VerifiedTokenCache): a
    token that worked must still stop working when it expires."""
    import time

    app = sqlite_app
    with app.app_context():
        default_id = ApiClient(app).get("/api/v1/current-user").json["id"]
        short = create_access_token(identity=default_id, expires_delta=timedelta(seconds=2))
    http = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {short}"}
    assert http.get("/api/v1/current-user", headers=headers).status_code == 200
    assert http.get("/api/v1/current-user", headers=headers).status_code == 200
    time.sleep(2.5)
    response = http.get("/api/v1/current-user", headers=headers)
    assert response.status_code == 401
    assert response.json == {"detail": ["AuthorizationException", "Authentication error: the token has expired."]}


def test_token_from_another_server_is_refused(app, tmp_path):
    from app import create_app

    other = create_app({"DATA_DIR": str(tmp_path / "other")})
    foreign = ApiClient(other).token
    response = app.test_client(use_cookies=False).get(
        "/api/v1/current-user", headers={"Authorization": f"Bearer {foreign}"}
    )
    assert response.status_code == 401


def test_deactivated_or_deleted_users_lose_access(client, make_user):
    user = make_user("leaving", password="pw")
    theirs = ApiClient(client.app, "leaving", "pw")
    assert theirs.get("/api/v1/current-user").status_code == 200
    assert client.put(f"/api/v1/users/{user['id']}/deactivate").status_code == 200
    assert theirs.get("/api/v1/current-user").status_code == 401
    login = client.app.test_client().post("/api/v1/login", data={"username": "leaving", "password": "pw"})
    assert login.status_code == 401


def test_logout_deletes_the_cookie(app):
    http = app.test_client()
    http.post("/api/v1/login", data={"username": "default", "password": ""})
    response = http.get("/api/v1/logout")
    assert response.status_code == 200
    assert "Expires=Thu, 01 Jan 1970" in response.headers["Set-Cookie"]
    assert http.get("/api/v1/current-user").status_code == 401


def test_cross_site_writes_with_the_cookie_are_refused(app):
    http = app.test_client()
    http.post("/api/v1/login", data={"username": "default", "password": ""})
    body = {"name": "from-elsewhere"}
    hostile = http.post("/api/v1/workspaces", json=body, headers={"Origin": "https://evil.example"})
    assert hostile.status_code == 403
    assert hostile.json["detail"][0] == "IllegalOperationError"
    same = http.post("/api/v1/workspaces", json=body, headers={"Origin": "http://localhost"})
    assert same.status_code == 200


def test_api_token_is_a_working_token(client):
    response = client.get("/api/v1/api_token?expires_minutes=5")
    assert response.status_code == 200 and isinstance(response.json, str)
    again = client.app.test_client(use_cookies=False).get(
        "/api/v1/current-user", headers={"Authorization": f"Bearer {response.json}"}
    )
    assert again.status_code == 200
    assert client.get("/api/v1/api_token?expires_minutes=0").status_code == 403


def test_login_rate_limit(tmp_path, server_databases):
    from tests.conftest import make_app

    app = make_app("sqlite", tmp_path, server_databases, RATE_LIMIT_ENABLED=True, LOGIN_RATE_LIMIT_MINUTE=3)
    http = app.test_client()
    codes = [
        http.post("/api/v1/login", data={"username": "default", "password": "bad"}).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_no_auth_scheme_acts_as_the_default_user(tmp_path, server_databases):
    from tests.conftest import make_app

    app = make_app("sqlite", tmp_path, server_databases, AUTH_SCHEME="NO_AUTH")
    response = app.test_client().get("/api/v1/current-user")
    assert response.status_code == 200 and response.json["name"] == "default"


def test_options_and_absurd_token_lifetimes_are_not_server_errors(client):
    assert client.http.options("/api/v1/users").status_code == 200
    assert client.get("/api/v1/api_token?expires_minutes=999999999999999").status_code == 422
