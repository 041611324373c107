"""HTTP service: same answers as the library, explicit limits, JSON errors, access control, clean logs."""
from __future__ import annotations

import json
import logging
import re
import time

import pytest

pytest.importorskip("fastapi", reason="the service needs tonecheck[server] (fastapi)")
pytest.importorskip("httpx", reason="the FastAPI test client needs httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

import tonecheck  # noqa: E402
from tonecheck import server  # noqa: E402
from tonecheck.server import Settings, create_app  # noqa: E402

# Obvious drafts, in our own words.
ABUSIVE = "你个傻逼，赶紧还钱"
VIOLENT = "再不还钱我弄死你"
POLITE = "您好，您这期账单已经逾期，请您尽快安排还款，谢谢。"
WITH_ID = "张先生您好，您的身份证号是110105199003071239，手机13812345678，请核对。"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(settings=Settings()))


def make_client(**kw) -> TestClient:
    return TestClient(create_app(settings=Settings(**kw)))


# -- same results as the library ------------------------------------------------------------

@pytest.mark.parametrize("text,params", [
    (ABUSIVE, {}),
    (VIOLENT, {"role": "agent", "counterpart": "debtor", "channel": "sms"}),
    (POLITE, {"counterpart": "third_party"}),
    (WITH_ID, {"counterpart": "debtor", "channel": "call"}),
    ("我不想活了，你们别逼我", {"role": "customer"}),
    ("", {}),
    ("😀你个傻逼😀", {}),
])
def test_check_is_identical_to_library(client, text, params):
    r = client.post("/v1/check", json={"text": text, **params})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == tonecheck.check(text, **params).model_dump(mode="json")


def test_check_flags_violation_and_rewrite_is_clean(client):
    r = client.post("/v1/check", json={"text": VIOLENT}).json()
    assert r["role"] == "agent" and r["counterpart"] == "unknown" and r["channel"] == "call"
    assert any(f["category"] == "threat" for f in r["findings"])
    f = r["findings"][0]
    assert VIOLENT[f["start"]:f["end"]] == f["text"]
    assert r["rewrite"] != VIOLENT
    again = client.post("/v1/check", json={"text": r["rewrite"]}).json()
    assert [x for x in again["findings"] if x["category"] != "risk"] == []
    assert again["rewrite"] == r["rewrite"]


def test_customer_text_is_not_a_violation(client):
    r = client.post("/v1/check", json={"text": VIOLENT, "role": "customer"}).json()
    assert all(f["category"] == "risk" for f in r["findings"])


def test_conversation_is_identical_to_library(client):
    conv = {"id": "c1", "counterpart": "unknown", "channel": "call", "utterances": [
        {"speaker": "agent", "text": "请问是刘先生吗？", "start": 0.0, "end": 1.5},
        {"speaker": "customer", "text": "他不在，我是他爱人，你找他什么事？"},
        {"speaker": "坐席", "text": ABUSIVE},
    ]}
    r = client.post("/v1/conversations", json=conv)
    assert r.status_code == 200
    assert r.json() == tonecheck.check_conversation(conv).model_dump(mode="json")
    assert any(f["subtype"].startswith("insult") for f in r.json()["utterances"][2]["findings"])


def test_rules_catalogue(client):
    body = client.get("/v1/rules").json()
    checker = tonecheck.default_checker()
    assert body["count"] == len(checker.rules) == len(body["rules"])
    ids = {r["id"] for r in body["rules"]}
    assert ids == {r.id for r in checker.rules}
    one = body["rules"][0]
    for key in ("id", "name", "category", "subtype", "severity", "message", "source", "lexicon", "examples"):
        assert key in one


def test_healthz_and_docs(client):
    h = client.get("/healthz").json()
    assert h["status"] == "ok" and h["rules"] == len(tonecheck.default_checker().rules)
    assert h["limits"]["max_text_chars"] == tonecheck.MAX_TEXT_CHARS
    spec = client.get("/openapi.json").json()
    assert {"/v1/check", "/v1/conversations", "/v1/rules", "/healthz"} <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    if server._SWAGGER_DIR:  # with fastapi-offline (in the server extra) the page needs no internet
        assert not re.search(r"https?://", docs.text)
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


def test_lexicons_are_not_reloaded_per_request(client, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("lexicons reloaded during a request")
    monkeypatch.setattr("tonecheck.checker.load_lexicons", boom)
    monkeypatch.setattr("tonecheck.lexicon.load_lexicons", boom)
    assert client.post("/v1/check", json={"text": ABUSIVE}).status_code == 200
    assert client.get("/v1/rules").status_code == 200


# -- bad bodies: JSON 4xx, never 500 ----------------------------------------------------------

@pytest.mark.parametrize("content", [
    b"{not json", b"", b"[]", b'"text"', b"null", b'{"txt": "hi"}', b'{"text": 5}', b'{"text": null}',
    b'{"text": "hi", "role": "boss"}', b'{"text": "hi", "counterpart": "neighbour"}',
    b'{"text": "hi", "channel": "fax"}', b'{"text": "hi", "extra": 1}', b'{"text": ["a"]}',
    "{\"text\": \"\udc80\"}".encode("utf-8", "surrogatepass"), b"\xff\xfe\x00",
])
def test_bad_check_bodies_are_422_json(client, content):
    r = client.post("/v1/check", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and err["message"]


def test_validation_errors_do_not_echo_the_draft(client):
    r = client.post("/v1/check", json={"text": WITH_ID, "role": "boss"})
    assert r.status_code == 422
    assert "110105199003071239" not in r.text


@pytest.mark.parametrize("conv", [
    {"utterances": "x"}, {"utterances": [{"speaker": "robot", "text": "hi"}]}, {"id": "x"},
    {"utterances": [{"speaker": "agent"}]}, {"utterances": [], "channel": "fax"},
])
def test_bad_conversation_bodies_are_422_json(client, conv):
    r = client.post("/v1/conversations", json=conv)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"


def test_wrong_method_and_path_are_json(client):
    assert client.get("/v1/check").json()["error"]["code"] == "method_not_allowed"
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"


# -- size limits ------------------------------------------------------------------------------

def test_text_at_the_limit_passes_and_over_it_is_413(client):
    ok = client.post("/v1/check", json={"text": "您" * tonecheck.MAX_TEXT_CHARS})
    assert ok.status_code == 200
    r = client.post("/v1/check", json={"text": "您" * (tonecheck.MAX_TEXT_CHARS + 1)})
    assert r.status_code == 413
    assert r.json()["error"] == {"code": "text_too_long", "limit": tonecheck.MAX_TEXT_CHARS,
                                 "message": f"text is {tonecheck.MAX_TEXT_CHARS + 1} characters; "
                                            f"the limit is {tonecheck.MAX_TEXT_CHARS}"}


def test_body_over_limit_is_413_by_content_length():
    c = make_client(max_body_bytes=1000)
    r = c.post("/v1/check", json={"text": "您好" * 400})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"
    assert c.post("/v1/check", json={"text": "您好"}).status_code == 200


def test_chunked_body_over_limit_is_413():
    c = make_client(max_body_bytes=1000)

    def chunks():
        yield b'{"text": "'
        for _ in range(50):
            yield b"a" * 100
        yield b'"}'
    r = c.post("/v1/check", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


def test_conversation_limits_are_413():
    c = make_client(max_utterances=3)
    many = {"utterances": [{"speaker": "agent", "text": "您好"}] * 4}
    r = c.post("/v1/conversations", json=many)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_utterances"
    long = {"utterances": [{"speaker": "agent", "text": "您好"},
                           {"speaker": "customer", "text": "a" * (tonecheck.MAX_TEXT_CHARS + 1)}]}
    r = c.post("/v1/conversations", json=long)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "text_too_long" and "utterances[1]" in r.json()["error"]["message"]


class _SlowChecker:
    """Stands in for a checker whose check never finishes in time."""

    def __init__(self, real):
        self._real = real
        self.rules = real.rules
        self.lexicon = real.lexicon
        self.tokenizer_name = real.tokenizer_name

    def check(self, *a, **k):
        time.sleep(0.5)
        return self._real.check(*a, **k)

    def check_conversation(self, *a, **k):
        time.sleep(0.5)
        return self._real.check_conversation(*a, **k)


class _HangingChecker(_SlowChecker):
    """A check that ignores its deadline on texts containing HANG (a stand-in for a runaway pattern)."""

    def check(self, text, **k):
        if "HANG" in text:
            time.sleep(1.5)
        return self._real.check(text, **k)


def test_a_timed_out_check_does_not_block_the_next_one():
    """After a 504 the lane gets a fresh thread: the next draft does not wait for the hung check."""
    c = TestClient(create_app(_HangingChecker(tonecheck.default_checker()), Settings(timeout_s=0.2)))
    for text in ("HANG 短稿", "HANG " + "长" * 3000):  # the fast lane and the slow lane
        t0 = time.perf_counter()
        r = c.post("/v1/check", json={"text": text})
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        assert time.perf_counter() - t0 < 1.0
        t0 = time.perf_counter()
        assert c.post("/v1/check", json={"text": ABUSIVE}).status_code == 200
        assert c.post("/v1/check", json={"text": "长" * 3000}).status_code == 200
        assert time.perf_counter() - t0 < 1.0, "a draft waited for the check that timed out"


def test_conversation_deadline_truncates_instead_of_running_on():
    """A conversation longer than its budget returns every turn: the unchecked ones marked truncated."""
    conv = {"id": "c", "utterances": [{"speaker": "agent", "text": ABUSIVE}] * 50}
    res = tonecheck.default_checker().check_conversation(conv, deadline_s=1e-9)
    assert len(res.utterances) == 50 and all(u.truncated for u in res.utterances)
    assert all(u.findings == [] and u.rewrite == u.text for u in res.utterances)
    full = tonecheck.default_checker().check_conversation(conv)
    assert not any(u.truncated for u in full.utterances) and full.utterances[0].findings


def test_settings_from_environment():
    s = Settings.from_env({"TONECHECK_API_KEYS": "a, b", "TONECHECK_CORS_ORIGINS": "https://app.example",
                           "TONECHECK_MAX_BODY_BYTES": "2048", "TONECHECK_TIMEOUT_S": "2.5",
                           "TONECHECK_MAX_UTTERANCES": "9"})
    assert s.api_keys == ("a", "b") and s.cors_origins == ("https://app.example",)
    assert (s.max_body_bytes, s.timeout_s, s.max_utterances) == (2048, 2.5, 9)
    assert Settings.from_env({}) == Settings()
    with pytest.raises(SystemExit):
        Settings.from_env({"TONECHECK_TIMEOUT_S": "soon"})


@pytest.mark.parametrize("env,message", [
    ({"TONECHECK_API_KEYS": " , "}, "holds no key"),        # used to switch authentication off
    ({"TONECHECK_API_KEY": ","}, "holds no key"),
    ({"TONECHECK_TIMEOUT_S": "nan"}, "positive number"),
    ({"TONECHECK_TIMEOUT_S": "-1"}, "positive number"),
    ({"TONECHECK_TIMEOUT_S": "inf"}, "positive number"),
    ({"TONECHECK_MAX_BODY_BYTES": "0"}, "positive number"),
    ({"TONECHECK_MAX_UTTERANCES": "2.5"}, "whole number"),
    ({"TONECHECK_BODY_TIMEOUT_S": "0"}, "positive number"),
])
def test_bad_settings_refuse_to_start(env, message):
    with pytest.raises(SystemExit, match=message):
        Settings.from_env(env)


def test_an_empty_key_setting_means_no_authentication():
    assert Settings.from_env({"TONECHECK_API_KEYS": ""}).api_keys == ()


# -- access control ---------------------------------------------------------------------------

def test_api_key_required_when_configured():
    c = make_client(api_keys=("k1", "k2"))
    body = {"text": ABUSIVE}
    r = c.post("/v1/check", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert c.post("/v1/check", json=body, headers={"X-API-Key": "nope"}).status_code == 401
    assert c.post("/v1/check", json=body, headers={"X-API-Key": "k2"}).status_code == 200
    assert c.post("/v1/check", json=body, headers={"Authorization": "Bearer k1"}).status_code == 200
    assert c.get("/v1/rules").status_code == 401
    assert c.post("/v1/conversations", json={"utterances": []}).status_code == 401
    # The page and the health check stay reachable; the page asks for the key.
    assert c.get("/healthz").json()["api_key_required"] is True
    assert c.get("/").status_code == 200


def test_key_is_checked_before_the_body():
    """An unauthenticated caller gets 401, never validation details about what it sent."""
    c = make_client(api_keys=("k1",))
    for body in (b"{not json", b'{"text": 5, "role": "nobody"}', b"[]"):
        r = c.post("/v1/check", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 401 and "details" not in r.json()["error"]
    r = c.post("/v1/conversations", content=b'{"utterances": "x"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_a_body_that_is_not_json_is_415(client):
    r = client.post("/v1/check", content="你好".encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/v1/check", content=b'{"text": "x"}')  # no content type at all
    assert r.status_code == 415
    r = client.post("/v1/check", content=b'{"text": "x"}', headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_refused_cors_preflight_is_json():
    c = make_client(cors_origins=("https://crm.example",))
    r = c.options("/v1/check", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "cors_refused"


def test_surrogate_in_a_conversation_id_is_422_not_500(client):
    body = b'{"id": "c\\ud800", "utterances": [{"speaker": "agent", "text": "hi"}]}'
    r = client.post("/v1/conversations", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "surrogate" in r.json()["error"]["message"]


def test_access_log_masks_identifiers_in_query_strings():
    from tonecheck.server import MaskedAccessLog

    rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5000", "GET", "/v1/rules?phone=13812345678&who=%E4%B8%80%E4%B8%89%E5%85%AB"
                             "%E9%9B%B6%E9%9B%B6%E4%B8%80%E4%BA%8C%E4%B8%89%E5%9B%9B%E4%BA%94%E5%85%AD", "1.1", 200),
                            None)
    assert MaskedAccessLog().filter(rec)
    line = rec.getMessage()
    assert "13812345678" not in line and "*******5678" in line
    assert "一三八零零一二三四五六" not in line and "三四五六" in line


def test_cors_closed_by_default(client):
    r = client.post("/v1/check", json={"text": "您好"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = client.options("/v1/check", headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in pre.headers


def test_cors_allows_configured_origins_only():
    c = make_client(cors_origins=("https://crm.example",))
    ok = c.options("/v1/check", headers={"Origin": "https://crm.example", "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://crm.example"
    r = c.post("/v1/check", json={"text": "您好"}, headers={"Origin": "https://crm.example"})
    assert r.headers["access-control-allow-origin"] == "https://crm.example"
    other = c.post("/v1/check", json={"text": "您好"}, headers={"Origin": "https://other.example"})
    assert "access-control-allow-origin" not in other.headers


# -- logs -------------------------------------------------------------------------------------

IDENTIFIERS = ("110105199003071239", "13812345678")


def test_logs_do_not_contain_identifiers(client, caplog):
    caplog.set_level(logging.DEBUG)
    r = client.post("/v1/check", json={"text": WITH_ID, "counterpart": "debtor"})
    assert r.status_code == 200
    client.post("/v1/conversations", json={"utterances": [{"speaker": "agent", "text": WITH_ID}]})
    client.post("/v1/check", json={"text": WITH_ID, "role": "nobody"})
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "chars=" in logged  # the check was logged ...
    for ident in IDENTIFIERS:
        assert ident not in logged  # ... without the identifiers


class _BrokenChecker(_SlowChecker):
    def check(self, *a, **k):
        raise RuntimeError("engine bug")


def test_internal_error_is_json_and_logs_masked_text(caplog):
    caplog.set_level(logging.INFO)
    c = TestClient(create_app(_BrokenChecker(tonecheck.default_checker()), Settings()), raise_server_exceptions=False)
    r = c.post("/v1/check", json={"text": WITH_ID})
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "check failed" in logged and "张先生" in logged
    for ident in IDENTIFIERS:
        assert ident not in logged
    assert not re.search(r"\d{11,}", logged)


# -- masking for the page's false-positive records ---------------------------------------------

def test_mask_endpoint_uses_the_one_masking_function(client):
    from tonecheck.pii import mask_text

    r = client.post("/v1/mask", json={"text": WITH_ID})
    assert r.status_code == 200 and r.json() == {"text": mask_text(WITH_ID)}
    assert "110105199003071239" not in r.text and "13812345678" not in r.text and "5678" in r.text
    assert client.post("/v1/mask", json={"text": "x" * (tonecheck.MAX_TEXT_CHARS + 1)}).status_code == 413
    assert client.post("/v1/mask", json={"text": "x", "extra": 1}).status_code == 422
    keyed = make_client(api_keys=("k1",))
    assert keyed.post("/v1/mask", json={"text": WITH_ID}).status_code == 401
    assert keyed.post("/v1/mask", json={"text": WITH_ID}, headers={"X-API-Key": "k1"}).status_code == 200


# -- the page ---------------------------------------------------------------------------------

def test_page_is_served_and_self_contained(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "催收话术合规预检" in html and 'lang="zh-CN"' in html and "viewport" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/app.js" in assets and "/static/style.css" in assets
    for path in ("/static/app.js", "/static/style.css"):
        a = client.get(path)
        assert a.status_code == 200
        # Nothing is fetched from another host: no CDN, fonts or analytics.
        assert not re.search(r"https?://", a.text), path
    assert not re.search(r"(?:src|href)=\"https?://", html)


# -- start-up ---------------------------------------------------------------------------------

def test_run_builds_app_once_or_uses_factory_for_workers(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    server.run(host="127.0.0.1", port=8123, workers=1)
    app, kw = calls[-1]
    assert hasattr(app, "state") and app.state.checker is tonecheck.default_checker()
    assert kw["host"] == "127.0.0.1" and kw["port"] == 8123
    server.run(host="127.0.0.1", port=8124, workers=3)
    app, kw = calls[-1]
    assert app == "tonecheck.server:app_factory" and kw["factory"] is True and kw["workers"] == 3


def test_cli_serve_passes_options(monkeypatch):
    from tonecheck import cli

    seen = {}
    monkeypatch.setattr(server, "run", lambda **kw: seen.update(kw))
    assert cli.main(["serve", "--host", "127.0.0.1", "--port", "8125", "--workers", "2"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 8125, "workers": 2}


def test_page_files_are_package_data():
    """pyproject ships ``static/*`` (no subfolders): every page file must match it, so the wheel has them."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["tonecheck"]
    assert "static/*" in data
    static = root / "src" / "tonecheck" / "static"
    files = sorted(p.relative_to(static).as_posix() for p in static.rglob("*") if p.is_file())
    assert {"index.html", "app.js", "style.css"} <= set(files)
    assert all("/" not in f for f in files), "static/* does not ship subfolders"
    assert server.STATIC_DIR.is_dir() and (server.STATIC_DIR / "index.html").is_file()


def test_random_bodies_and_texts_never_500(client):
    """Whatever arrives, the answer is 200 with the library's result or a JSON 4xx."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(st.binary(max_size=200).map(lambda b: ("raw", b)),
                     st.text(max_size=120).map(lambda t: ("text", t)),
                     st.dictionaries(st.sampled_from(["text", "role", "counterpart", "channel", "x"]),
                                     st.one_of(st.text(max_size=20), st.integers(), st.none()),
                                     max_size=4).map(lambda d: ("json", d))))
    def run(case):
        kind, value = case
        if kind == "raw":
            r = client.post("/v1/check", content=value, headers={"content-type": "application/json"})
        elif kind == "text":
            r = client.post("/v1/check", json={"text": value})
        else:
            r = client.post("/v1/check", json=value)
        assert r.status_code in (200, 413, 422), r.text
        if r.status_code == 200:
            body = r.json()
            assert body == tonecheck.check(body["text"], role=body["role"], counterpart=body["counterpart"],
                                           channel=body["channel"]).model_dump(mode="json")
        else:
            assert r.json()["error"]["code"]

    run()


# -- a real server: body read timeout, health while a long check runs -----------------------

@pytest.fixture()
def live_server():
    """uvicorn in a thread on a free loopback port; yields (port, settings setter)."""
    import socket
    import threading

    import uvicorn

    started = []

    def start(app):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        th = threading.Thread(target=srv.run, daemon=True)
        th.start()
        for _ in range(200):
            if srv.started:
                break
            time.sleep(0.02)
        started.append((srv, th))
        return port

    yield start
    for srv, th in started:
        srv.should_exit = True
        th.join(timeout=5)


def test_a_stalled_upload_gets_408_and_the_connection_is_closed(live_server):
    import socket

    port = live_server(create_app(settings=Settings(body_timeout_s=0.3)))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100\r\n\r\n{\"text\": ")  # ... and then nothing more
        t0 = time.perf_counter()
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert time.perf_counter() - t0 < 3
    assert data.startswith(b"HTTP/1.1 408") and b"body_timeout" in data


def test_health_answers_while_a_long_check_runs(live_server):
    """No check runs on the event loop: /healthz stays quick while the slow lane is busy."""
    import http.client
    import json as _json
    import threading

    port = live_server(create_app(_HangingChecker(tonecheck.default_checker()), Settings(timeout_s=5)))
    done = []

    def slow():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/check", _json.dumps({"text": "HANG " + "长" * 3000}),
                     {"Content-Type": "application/json"})
        done.append(conn.getresponse().status)

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.2)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for path, body in (("/healthz", None), ("/v1/check", _json.dumps({"text": ABUSIVE}))):
        t0 = time.perf_counter()
        if body is None:
            conn.request("GET", path)
        else:
            conn.request("POST", path, body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200 and time.perf_counter() - t0 < 0.5, path
    th.join()
    assert done == [200]


def test_long_texts_are_checked_in_a_process_of_their_own():
    """The slow lane is a forked process: a long text's check never holds the lock the drafts need."""
    import multiprocessing

    from tonecheck.server import ProcessLane

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform: the slow lane is a thread")
    app = create_app(tonecheck.default_checker(), Settings())
    assert isinstance(app.state.lanes[1], ProcessLane)
    c = TestClient(app)
    text = ("你个废物，" + "请尽快安排还款，" * 400)[:3000]
    r = c.post("/v1/check", json={"text": text})
    assert r.status_code == 200 and r.json() == json.loads(tonecheck.check(text).model_dump_json())
    app.state.lanes[1].shutdown()
