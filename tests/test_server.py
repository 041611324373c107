"""HTTP service: same answers as the library, explicit limits, JSON errors, access control, clean logs."""
from __future__ import annotations

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


def test_request_timeout_is_504_json():
    # Drafts up to INLINE_CHARS are checked on the event loop (they finish in milliseconds);
    # longer texts and conversations run under the timeout.
    c = TestClient(create_app(_SlowChecker(tonecheck.default_checker()), Settings(timeout_s=0.05)))
    long_text = (ABUSIVE + "。") * (server.INLINE_CHARS // len(ABUSIVE) + 1)
    r = c.post("/v1/check", json={"text": long_text})
    assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
    r = c.post("/v1/conversations", json={"utterances": [{"speaker": "agent", "text": long_text}]})
    assert r.status_code == 504
    assert c.post("/v1/check", json={"text": ABUSIVE}).status_code == 200


def test_settings_from_environment():
    s = Settings.from_env({"TONECHECK_API_KEYS": "a, b", "TONECHECK_CORS_ORIGINS": "https://app.example",
                           "TONECHECK_MAX_BODY_BYTES": "2048", "TONECHECK_TIMEOUT_S": "2.5",
                           "TONECHECK_MAX_UTTERANCES": "9"})
    assert s.api_keys == ("a", "b") and s.cors_origins == ("https://app.example",)
    assert (s.max_body_bytes, s.timeout_s, s.max_utterances) == (2048, 2.5, 9)
    assert Settings.from_env({}) == Settings()
    with pytest.raises(SystemExit):
        Settings.from_env({"TONECHECK_TIMEOUT_S": "soon"})


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
