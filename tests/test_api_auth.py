"""Users, not claimed roles: who signs in, in which role they act, and every refusal logged."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import httpx
import pytest
from apiserver import PASSWORD, ROLES, Api, refusals
from casework import PAYLOADS, take_in
from consolework import sign_in_form
from sqlalchemy import text

from complaintflow.bootstrap import App
from complaintflow.cli.app import main
from complaintflow.users import services
from complaints import audit
from complaints.steps import Actor
from workflows.integrity import check_integrity


def _log_is_intact(app: App) -> None:
    assert services.verify_access_log(app.db) == []
    assert check_integrity(app.db, app.registry).ok


def test_a_request_without_credentials_is_refused_with_401_and_the_refusal_is_logged(api: Api) -> None:
    response = api.client().get("/complaints")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["type"] == "NotSignedIn"
    [refusal] = refusals(api.app)
    assert (refusal["status"], refusal["details"]["path"], refusal["details"]["method"]) == (401, "/complaints", "GET")
    _log_is_intact(api.app)


def test_an_unknown_or_revoked_token_is_refused_and_a_disabled_users_tokens_stop_working(api: Api) -> None:
    token = api.user("ana", "handler")
    assert api.client(token).get("/complaints").status_code == 200
    assert api.client(token + "x").get("/complaints").status_code == 401
    [listed] = services.list_tokens(api.app.db, "ana")
    assert listed["prefix"] == token[:12] and token not in json.dumps(listed, default=str)
    services.revoke_token(api.app.db, datetime.now(UTC), "ana", listed["id"], by="test")
    assert api.client(token).get("/complaints").status_code == 401
    other = services.create_token(api.app.db, datetime.now(UTC), "ana", "second", by="test").secret
    assert api.client(other).get("/complaints").status_code == 200
    services.disable_user(api.app.db, datetime.now(UTC), "ana", by="test")
    assert api.client(other).get("/complaints").status_code == 401
    assert [r["status"] for r in refusals(api.app)] == [401, 401, 401]


def test_only_the_hash_of_a_token_is_stored(sqlite_api: Api) -> None:
    token = sqlite_api.user("ana", "handler")
    with sqlite_api.app.db.read() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM api_token"))]
        hashes = [r for (r,) in conn.execute(text("SELECT password_hash FROM app_user"))]
    assert token not in repr(stored) and PASSWORD not in repr(hashes)
    assert hashes[0].startswith("$argon2id$")


def test_a_step_is_taken_by_the_signed_in_user_in_their_first_role_with_origin_api(api: Api) -> None:
    client = api.as_new_user("ines", "supervisor", "handler")
    reference = take_in(api.app)
    response = client.post(f"/complaints/{reference}/advance", json={"action": "assess"})
    assert response.status_code == 200, response.text
    event = client.get(f"/complaints/{reference}").json()["events"][-1]
    assert (event["actor"], event["role"], event["origin"], event["action"]) == ("ines", "supervisor", "api", "assess")
    _log_is_intact(api.app)


def test_a_user_may_pick_one_of_their_roles_but_never_one_they_do_not_have(api: Api) -> None:
    client = api.as_new_user("ines", "handler", "supervisor")
    reference = take_in(api.app)
    picked = client.post(f"/complaints/{reference}/advance", params={"as_role": "handler"}, json={"action": "assess"})
    assert picked.status_code == 200
    assert client.get(f"/complaints/{reference}").json()["events"][-1]["role"] == "handler"
    claimed = client.post(f"/complaints/{reference}/advance", params={"as_role": "executive"},
                          json={"action": "valid", "payload": PAYLOADS["valid"]})
    assert claimed.status_code == 403
    assert "not 'executive'" in claimed.json()["error"]["message"]
    assert api.app.engine.get(reference).state == "assessing"  # nothing happened
    [refusal] = refusals(api.app)
    assert (refusal["status"], refusal["actor"], refusal["origin"]) == (403, "ines", "api")


def test_an_action_the_users_role_may_not_take_is_403_and_logged_while_a_wrong_state_is_409(api: Api) -> None:
    quality = api.as_new_user("quinn", "quality")
    reference = take_in(api.app)
    refused = quality.post(f"/complaints/{reference}/advance", json={"action": "assess"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["type"] == "ActionNotAllowed"
    handler = api.as_new_user("hana", "handler")
    wrong_state = handler.post(f"/complaints/{reference}/advance", json={"action": "accept"})
    assert wrong_state.status_code == 409
    assert [(r["status"], r["actor"]) for r in refusals(api.app)] == [(403, "quinn")]
    _log_is_intact(api.app)


def test_signing_in_sets_a_signed_httponly_samesite_cookie_that_signing_out_removes(sqlite_api: Api) -> None:
    sqlite_api.user("ana", "handler")
    browser = sqlite_api.client()
    signed_in = browser.post("/session", json={"name": "ana", "password": PASSWORD})
    assert signed_in.status_code == 200 and signed_in.json()["roles"] == ["handler"]
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert browser.get("/session").json()["name"] == "ana"
    reference = take_in(sqlite_api.app)
    step = browser.post(f"/complaints/{reference}/advance", json={"action": "assess"})
    assert step.status_code == 200
    assert browser.get(f"/complaints/{reference}").json()["events"][-1]["origin"] == "web"
    assert browser.delete("/session").status_code == 204
    assert browser.get("/session").status_code == 401


def test_a_wrong_password_a_forged_cookie_and_a_disabled_user_are_refused(sqlite_api: Api) -> None:
    sqlite_api.user("ana", "handler")
    browser = sqlite_api.client()
    assert browser.post("/session", json={"name": "ana", "password": "wrong password"}).status_code == 401
    assert browser.post("/session", json={"name": "nobody", "password": PASSWORD}).status_code == 401
    forged = sqlite_api.client(cookies={"complaintflow_session": 'eyJ1IjoiYW5hIn0.forged.signature'})
    assert forged.get("/session").status_code == 401
    assert browser.post("/session", json={"name": "ana", "password": PASSWORD}).status_code == 200
    services.disable_user(sqlite_api.app.db, datetime.now(UTC), "ana", by="test")
    assert browser.get("/session").status_code == 401
    failed = refusals(sqlite_api.app, ("sign_in_failed",))
    assert [(r["subject"], r["status"]) for r in failed] == [("ana", 401), ("nobody", 401)]
    assert len(refusals(sqlite_api.app)) == 2  # the forged cookie, the disabled user's session
    assert [r["kind"] for r in refusals(sqlite_api.app, ("signed_in",))] == ["signed_in"]


def test_the_access_log_is_append_only_and_an_edit_is_found(sqlite_api: Api) -> None:
    sqlite_api.client().get("/complaints")
    sqlite_api.client().get("/complaints")
    with pytest.raises(Exception, match="append-only"), sqlite_api.app.db.transaction() as conn:
        conn.execute(text("UPDATE access_event SET status = 200"))
    with sqlite_api.app.db.transaction() as conn:  # round the triggers, as an attacker with the file would
        conn.execute(text("DROP TRIGGER access_event_no_update"))
        conn.execute(text("UPDATE access_event SET status = 200 WHERE seq = 1"))
    assert services.verify_access_log(sqlite_api.app.db) == [
        "access event 1 ('refused') edited: its content no longer matches its hash"]


def test_events_from_before_origins_keep_their_hash_and_an_origin_is_inside_a_new_events_hash() -> None:
    event = {"seq": 1, "actor": "ana", "role": "handler", "action": "assess", "from_state": "a", "to_state": "b",
             "tier": "t", "queue": "q", "payload": {}, "changes": {}, "at": datetime(2026, 1, 1, tzinfo=UTC)}
    old = audit.content_hash("C-1", event)
    assert audit.content_hash("C-1", event | {"origin": None}) == old
    assert audit.content_hash("C-1", event | {"origin": "api"}) != old
    assert audit.content_hash("C-1", event | {"origin": "api"}) != audit.content_hash("C-1", event | {"origin": "cli"})


class _Cli:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        import io

        self.monkeypatch.setattr(sys, "argv", ["complaints", "--db", self.url, "--actor", "root", *args])
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def test_user_commands_add_set_roles_make_list_and_revoke_tokens_and_disable(
        sqlite_app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _Cli(sqlite_app.settings.database_url, capsys, monkeypatch)
    assert cli("user", "add", "ana", "-r", "handler", "--display-name", "Ana B", "--password-stdin",
               stdin=PASSWORD + "\n")[0] == 0
    code, _, err = cli("user", "add", "bob", "-r", "wizard", "--no-password")
    assert code == 1 and "unknown role(s) 'wizard'" in err
    code, _, err = cli("user", "add", "ana", "-r", "handler", "--no-password")
    assert code == 1 and "'ana' is taken" in err
    assert json.loads(cli("--json", "user", "roles", "ana", "-r", "handler", "-r", "supervisor")[1])["roles"] == [
        "handler", "supervisor"]
    token = json.loads(cli("--json", "user", "token", "create", "ana", "--label", "crm")[1])
    assert token["token"].startswith("cft_")
    assert services.user_of_token(sqlite_app.db, token["token"]).roles == ("handler", "supervisor")  # type: ignore[union-attr]
    listed = json.loads(cli("--json", "user", "token", "list", "ana")[1])
    assert [t["label"] for t in listed] == ["crm"] and "token" not in listed[0]
    assert cli("user", "token", "revoke", "ana", str(token["id"]))[0] == 0
    assert services.user_of_token(sqlite_app.db, token["token"]) is None
    assert cli("user", "disable", "ana")[0] == 0
    assert services.sign_in(sqlite_app.db, datetime.now(UTC), "ana", PASSWORD, "web") is None
    users = json.loads(cli("--json", "user", "list")[1])
    assert [(u["name"], u["active"]) for u in users] == [("ana", False)]
    kinds = [e["kind"] for e in refusals(sqlite_app, ("user_added", "roles_changed", "token_created", "token_revoked",
                                                      "user_disabled"))]
    assert kinds == ["user_added", "roles_changed", "token_created", "token_revoked", "user_disabled"]
    assert {e["origin"] for e in refusals(sqlite_app, ("user_added",))} == {"cli"}


def test_a_step_taken_on_the_command_line_records_origin_cli(
        sqlite_app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    reference = take_in(sqlite_app, Actor("hana", "handler"))
    cli = _Cli(sqlite_app.settings.database_url, capsys, monkeypatch)
    assert cli("advance", reference, "assess")[0] == 0
    events = json.loads(cli("--json", "show", reference)[1])["events"]
    assert [(e["action"], e["origin"]) for e in events] == [("receive", None), ("acknowledge", "system"),
                                                             ("assess", "cli")]
    assert check_integrity(sqlite_app.db, sqlite_app.registry).ok


def test_roles_given_to_a_user_must_be_roles_a_person_acts_in(sqlite_app: App) -> None:
    with pytest.raises(Exception, match="unknown role"):
        services.add_user(sqlite_app.db, datetime.now(UTC), "sys", "Sys", ["system"], ROLES, None, by="t")
    with pytest.raises(Exception, match="name"):
        services.add_user(sqlite_app.db, datetime.now(UTC), "Bad Name", "x", ["handler"], ROLES, None, by="t")
    with pytest.raises(Exception, match="at least 10 characters"):
        services.add_user(sqlite_app.db, datetime.now(UTC), "ok", "x", ["handler"], ROLES, "short", by="t")


def test_an_httpx_client_against_the_real_server_gets_json_with_nosniff(sqlite_api: Api) -> None:
    response = httpx.get(sqlite_api.url + "/openapi.json")
    assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
    assert "/complaints/{reference}/advance" in response.json()["paths"]


def test_a_name_with_too_many_wrong_passwords_waits_however_right_the_next_one_is(sqlite_api: Api) -> None:
    sqlite_api.user("ana", "handler")
    browser = sqlite_api.client()
    for _ in range(services.SIGN_IN_LIMIT):
        assert browser.post("/session", json={"name": "ana", "password": "guess"}).status_code == 401
    throttled = browser.post("/session", json={"name": "ana", "password": PASSWORD})
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    assert throttled.json()["error"]["type"] == "TooManySignIns"
    assert "Too many failed sign-ins for 'ana'" in throttled.text
    assert [r["subject"] for r in refusals(sqlite_api.app, ("sign_in_throttled",))] == ["ana"]
    assert sqlite_api.client().post("/session", json={"name": "bo", "password": "guess"}).status_code == 401
    services.set_password(sqlite_api.app.db, datetime.now(UTC), "ana", PASSWORD + "!", by="admin")
    assert browser.post("/session", json={"name": "ana", "password": PASSWORD + "!"}).status_code == 200


def test_the_consoles_sign_in_form_counts_and_refuses_wrong_passwords_alike(sqlite_api: Api) -> None:
    sqlite_api.user("cy", "handler")
    browser = sqlite_api.client()
    for _ in range(services.SIGN_IN_LIMIT):
        assert browser.post("/console/sign-in", data=sign_in_form(browser, "cy", "guess")).status_code == 401
    throttled = browser.post("/console/sign-in", data=sign_in_form(browser, "cy", PASSWORD))
    assert throttled.status_code == 429 and "Too many failed sign-ins for &#39;cy&#39;" in throttled.text
    assert [r["origin"] for r in refusals(sqlite_api.app, ("sign_in_failed",))] == ["web"] * services.SIGN_IN_LIMIT
