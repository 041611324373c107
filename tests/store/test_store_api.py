"""The review API in the service: keys, roles, every endpoint as an agent (never another agent's
calls), auth before the body is read, and the reviewer / agent / lead flow over HTTP."""
from __future__ import annotations

import copy
import json

import pytest

pytest.importorskip("fastapi", reason="the service needs: pip install -e '.[test]'")
from fastapi.testclient import TestClient  # noqa: E402

from tonecheck.server import Settings, create_app  # noqa: E402
from tonecheck.store import review  # noqa: E402
from tonecheck.store.runs import begin_run, store_report  # noqa: E402
from tonecheck.store.users import add_user, authenticate, set_disabled  # noqa: E402


@pytest.fixture
def api(store, examples_report, checker):
    store_report(store, begin_run(store, ["x"], "test"), copy.deepcopy(examples_report), actor="test")
    keys = {name: add_user(store, name, role, agent_id=agent)
            for name, role, agent in (("rev", "reviewer", None), ("lead", "lead", None),
                                      ("a17", "agent", "A017"), ("a19", "agent", "A019"))}
    client = TestClient(create_app(checker=checker, settings=Settings(), store=store))
    return client, store, keys


def _h(key):
    return {"X-API-Key": key}


ALL_ENDPOINTS = [("GET", "/v1/review/me"), ("GET", "/v1/review/queue"), ("POST", "/v1/review/claim"),
                 ("GET", "/v1/review/hits"), ("GET", "/v1/review/hits/{hit}"), ("POST", "/v1/review/hits/{hit}/verdict"),
                 ("POST", "/v1/review/hits/{hit}/release"), ("POST", "/v1/review/hits/{hit}/appeal"),
                 ("GET", "/v1/review/appeals"), ("POST", "/v1/review/appeals/{appeal}/decision"),
                 ("GET", "/v1/review/calls/{call}"), ("GET", "/v1/review/filters"), ("GET", "/v1/review/stats"),
                 ("GET", "/v1/review/audit")]


def _others(store, keys):
    """A hit, a call and an appeal of agent A019, and everything identifying A019's calls."""
    rev, a19 = authenticate(store, keys["rev"]), authenticate(store, keys["a19"])
    theirs = review.list_hits(store, rev, review.Filters(agent="A019"), limit=500)["items"]
    hit = next(h for h in theirs if h["category"] != "risk")
    review.set_verdict(store, rev, hit["hit_id"], "confirmed")
    appeal = review.appeal(store, a19, hit["hit_id"], "理由")
    secrets = {h["hit_id"] for h in theirs} | {h["conv_key"] for h in theirs}
    return {"hit": hit["hit_id"], "call": hit["conv_key"], "appeal": appeal["appeal_id"]}, secrets


def test_no_endpoint_gives_an_agent_another_agents_calls(api):
    client, store, keys = api
    ids, secrets = _others(store, keys)
    bodies = {"verdict": {"verdict": "rejected"}, "appeal": {"reason": "不是我"}, "decision": {"decision": "overturned"},
              "claim": {}, "release": {}}
    seen_own = False
    for method, path in ALL_ENDPOINTS:
        url = path.format(**ids)
        body = next((b for k, b in bodies.items() if url.endswith(k)), None)
        for query in ("", "?agent=A019", "?status=all", "?status=all&agent=A019"):
            r = client.request(method, url + query, headers=_h(keys["a17"]), json=body)
            assert r.status_code in (200, 403, 404), (method, url, query, r.status_code, r.text)
            leaked = [s for s in secrets if s in r.text]
            assert not leaked, (method, url, query, leaked)
            if r.status_code == 200 and url == "/v1/review/hits":
                items = r.json()["items"]
                assert all(h["agent_id"] == "A017" for h in items)
                seen_own |= bool(items)
    assert seen_own
    for method, path, status in (("GET", "/v1/review/queue", 403), ("POST", "/v1/review/claim", 403),
                                 ("GET", "/v1/review/hits/{hit}", 404), ("GET", "/v1/review/calls/{call}", 404),
                                 ("POST", "/v1/review/hits/{hit}/appeal", 404), ("GET", "/v1/review/stats", 403),
                                 ("GET", "/v1/review/audit", 403), ("GET", "/v1/review/filters", 403),
                                 ("POST", "/v1/review/appeals/{appeal}/decision", 403)):
        r = client.request(method, path.format(**ids), headers=_h(keys["a17"]),
                           json={"reason": "x"} if "appeal" in path else {"decision": "upheld"})
        assert r.status_code == status, (method, path, r.text)
        assert set(r.json()["error"]) == {"code", "message"}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)   # the API does not depend on the backend
def test_keys_are_checked_before_anything_else(api):
    client, store, keys = api
    for method, path in ALL_ENDPOINTS:
        url = path.format(hit="x", call="x", appeal="1")
        for headers in ({}, {"X-API-Key": "tck_000000000000_" + "A" * 43}, {"Authorization": "Bearer nonsense"}):
            r = client.request(method, url + "?limit=notanumber&from=never",
                               headers={**headers, "Content-Type": "application/json"},
                               content=b"{not json" if method == "POST" else None)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", (method, url, r.text)
    set_disabled(store, "rev", True)
    assert client.get("/v1/review/me", headers=_h(keys["rev"])).status_code == 401
    assert client.get("/v1/review/me", headers={"Authorization": "Bearer " + keys["lead"]}).json()["role"] == "lead"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)   # the API does not depend on the backend
def test_bad_requests_are_json_errors(api):
    client, _, keys = api
    h = _h(keys["rev"])
    assert client.get("/v1/review/queue?from=2026-13-01", headers=h).status_code == 422
    assert client.get("/v1/review/queue?limit=x", headers=h).status_code == 422
    assert client.get("/v1/review/queue?status=bogus", headers=h).status_code == 422
    hit = client.post("/v1/review/claim", headers=h, json={}).json()["hit"]["hit_id"]
    r = client.post(f"/v1/review/hits/{hit}/verdict", headers={**h, "Content-Type": "application/json"},
                    content=b"{oops")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.post(f"/v1/review/hits/{hit}/verdict", headers=h, json={"verdict": "perhaps"})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("verdict")
    assert client.post(f"/v1/review/hits/{hit}/verdict", headers=h, json={"verdict": "confirmed", "x": 1}).status_code == 422
    assert client.get("/v1/review/hits/nope", headers=h).status_code == 404


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)   # the API does not depend on the backend
def test_review_flow_over_http(api):
    client, _, keys = api
    rev, lead, a17 = _h(keys["rev"]), _h(keys["lead"]), _h(keys["a17"])
    assert client.get("/review").status_code == 200
    assert client.get("/healthz").status_code == 200                      # the service is still the service
    q = client.get("/v1/review/queue?agent=A017", headers=rev).json()
    assert q["total"] >= 1
    hit = client.post("/v1/review/claim", headers=rev, json={"agent": "A017"}).json()["hit"]
    assert hit["hit_id"] == q["items"][0]["hit_id"] and hit["claimed_by"] == "rev"
    r = client.post(f"/v1/review/hits/{hit['hit_id']}/verdict", headers=lead, json={"verdict": "rejected"})
    assert r.status_code == 409                                          # rev holds the claim
    r = client.post(f"/v1/review/hits/{hit['hit_id']}/verdict", headers=rev, json={"verdict": "confirmed", "comment": "录音核实"})
    assert r.json() == {"hit_id": hit["hit_id"], "status": "confirmed"}
    mine = client.get("/v1/review/hits?status=confirmed", headers=a17).json()["items"]
    assert [h["hit_id"] for h in mine] == [hit["hit_id"]]
    ap = client.post(f"/v1/review/hits/{hit['hit_id']}/appeal", headers=a17, json={"reason": "客户要求我重复"}).json()
    assert client.get("/v1/review/appeals", headers=a17).json()[0]["id"] == ap["appeal_id"]
    r = client.post(f"/v1/review/appeals/{ap['appeal_id']}/decision", headers=lead,
                    json={"decision": "upheld", "comment": "仍属违规"})
    assert r.json()["hit_status"] == "confirmed"
    detail = client.get(f"/v1/review/hits/{hit['hit_id']}", headers=a17).json()
    assert detail["appeal"] == "upheld" and detail["appeals"][0]["decision_comment"] == "仍属违规"
    stats = client.get("/v1/review/stats", headers=lead).json()
    rule = next(r for r in stats["rules"] if r["rule_id"] == hit["rule_id"])
    assert rule["confirmed"] >= 1
    audit = client.get("/v1/review/audit", headers=lead).json()
    assert {"hit.claim", "hit.verdict", "appeal.open", "appeal.decide"} <= {a["action"] for a in audit}
    assert not any(keys["rev"] in json.dumps(a, ensure_ascii=False) for a in audit)   # keys never logged


def test_serve_store_option(sqlite_url, tmp_path, monkeypatch, capsys):
    from tonecheck import cli, server

    seen = {}
    monkeypatch.setattr(server, "run", lambda **kw: seen.update(kw))
    assert cli.main(["serve", "--store", sqlite_url]) == 0 and seen["store"] == sqlite_url
    assert cli.main(["serve", "--store", str(tmp_path / "nowhere" / "qa.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("TONECHECK_STORE", sqlite_url)        # how --workers N hands the store to each worker
    app = server.app_factory()
    assert app.state.review_store.url == sqlite_url
    app.state.review_store.dispose()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_review_keys_are_separate_from_the_service_keys(store, checker):
    key = add_user(store, "rev", "reviewer")
    client = TestClient(create_app(checker=checker, settings=Settings(api_keys=("service-key",)), store=store))
    assert client.get("/v1/review/me", headers=_h(key)).json()["name"] == "rev"
    assert client.get("/v1/review/me", headers=_h("service-key")).status_code == 401
    assert client.post("/v1/check", headers=_h(key), json={"text": "您好"}).status_code == 401
    assert client.post("/v1/check", headers=_h("service-key"), json={"text": "您好"}).status_code == 200
    r = client.post("/v1/review/claim", headers=_h(key), content=b"{}")          # no JSON content type
    assert r.status_code == 415
