"""Stats (precision with Wilson intervals, violations per 100 calls by week), feedback into lexicon
twins that ``tonecheck rules test`` runs, hit-id recipe and the migrated schema."""
from __future__ import annotations

import copy
import hashlib
import json
import math

import pytest
import sqlalchemy as sa

from tonecheck.store import review, schema as t
from tonecheck.store.hitid import hit_id
from tonecheck.store.runs import begin_run, store_report
from tonecheck.store.stats import compute, render_text, week_of, wilson
from tonecheck.store.users import add_user, authenticate


def test_wilson_interval():
    lo, hi = wilson(8, 10)
    assert math.isclose(lo, 0.4902, abs_tol=1e-4) and math.isclose(hi, 0.9433, abs_tol=1e-4)
    lo, hi = wilson(0, 5)
    assert lo == 0.0 and math.isclose(hi, 0.4345, abs_tol=1e-4)
    assert wilson(0, 0) is None
    assert wilson(30, 30)[1] == 1.0


def test_hit_id_recipe_is_the_documented_one():
    expected = hashlib.sha256(json.dumps(["tonecheck-hit/1", "call-1", 2, "你个傻逼", "insult.abuse", 0, 4, "你个傻逼"],
                                         ensure_ascii=False).encode()).hexdigest()[:16]
    assert hit_id("call-1", 2, "你个傻逼", "insult.abuse", 0, 4, "你个傻逼") == expected
    variants = [("call-2", 2, "你个傻逼", "insult.abuse", 0, 4), ("call-1", 3, "你个傻逼", "insult.abuse", 0, 4),
                ("call-1", 2, "你个傻逼！", "insult.abuse", 0, 4), ("call-1", 2, "你个傻逼", "insult.profanity", 0, 4),
                ("call-1", 2, "你个傻逼", "insult.abuse", 2, 4)]
    assert len({hit_id(*v, "x") for v in variants} | {expected}) == len(variants) + 1


@pytest.fixture
def reviewed(store, examples_report):
    store_report(store, begin_run(store, ["x"], "test"), copy.deepcopy(examples_report), actor="test")
    lead = authenticate(store, add_user(store, "lead", "lead"))
    items = review.list_hits(store, lead, queue=True, limit=500)["items"]
    return store, lead, items


def test_stats_per_rule_and_per_agent(reviewed, capsys):
    store, lead, items = reviewed
    a, b = items[0], items[1]
    review.set_verdict(store, lead, a["hit_id"], "confirmed")
    review.set_verdict(store, lead, b["hit_id"], "rejected")
    s = compute(store)
    by_rule = {r["rule_id"]: r for r in s["rules"]}
    ra = by_rule[a["rule_id"]]
    assert ra["confirmed"] >= 1 and ra["hits"] == sum(1 for h in items if h["rule_id"] == a["rule_id"])
    if a["rule_id"] != b["rule_id"]:
        assert ra["precision"] == 1.0 and ra["precision_ci"] == [round(wilson(1, 1)[0], 4), 1.0]
        assert by_rule[b["rule_id"]]["precision"] == 0.0
        assert s["rules"][0]["rule_id"] == b["rule_id"]      # most rejected first
    wk = ra["weeks"][0]
    assert wk["week"] == week_of(__import__("datetime").date.fromisoformat(a["call_date"])).isoformat()
    agent = next(g for g in s["agents"] if g["agent_id"] == a["agent_id"])
    with store.read() as conn:
        calls = conn.execute(sa.select(sa.func.count()).select_from(t.conversations)
                             .where(t.conversations.c.agent_id == a["agent_id"])).scalar_one()
    assert agent["calls"] == calls and agent["confirmed"] == 1
    assert agent["per_100_calls"] == round(100 / calls, 2)
    text = render_text(s)
    assert a["rule_id"] in text and "Wilson" in text
    from tonecheck.cli import main

    assert main(["stats", "--store", store.url, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rules"] == s["rules"]


def _reject_insult_clause(store, lead, items):
    """Reject one hit whose turn has no other hit of its subtype (a clean example of its own)."""
    for h in items:
        if h["turn"] is None or h["category"] == "contact":
            continue
        same = [x for x in items if x["conv_key"] == h["conv_key"] and x["turn"] == h["turn"]
                and x["subtype"] == h["subtype"] and x["hit_id"] != h["hit_id"]]
        if not same:
            review.set_verdict(store, lead, h["hit_id"], "rejected", "误报")
            return h
    raise AssertionError("no suitable hit")


@pytest.mark.parametrize("store_url, examples_only", [("sqlite", True), pytest.param("postgresql", False,
                                                                                     marks=pytest.mark.postgres)],
                         indirect=["store_url"])
def test_feedback_twins_make_rules_test_prove_the_fix(reviewed, tmp_path, monkeypatch, capsys, examples_only):
    store, lead, items = reviewed
    h = _reject_insult_clause(store, lead, items)
    contact = next((x for x in items if x["category"] == "contact"), None)
    if contact:
        review.set_verdict(store, lead, contact["hit_id"], "rejected")
    monkeypatch.chdir(tmp_path)
    from tonecheck.cli import main

    args = ["feedback", "--store", store.url, "-o", "team_rules", "--no-config"]
    assert main(args + (["--examples-only"] if examples_only else [])) == 0
    out = capsys.readouterr()
    assert f'"{h["rule_id"]}"' in out.out and "review-feedback.toml" in out.out
    if contact:
        assert f"skipped {contact['rule_id']}" in out.err
    import tomllib

    data = tomllib.loads((tmp_path / "team_rules" / "review-feedback.toml").read_text())
    twin = data["rule"][0]
    fire = twin.get("examples", {}).get("fire") or [e for c in twin.get("construction", []) for e in c.get("fire", [])]
    assert twin["id"] == "QA-" + h["rule_id"] and fire  # the rule's own fire examples, in its constructions
    assert ("exceptions" in twin) != examples_only
    (tmp_path / "tonecheck.toml").write_text(f'lexicons = ["team_rules"]\ndisable = ["{h["rule_id"]}"]\n')
    rc = main(["rules", "test", "team_rules"])
    result = capsys.readouterr().out
    if examples_only:
        # the rule still fires on what reviewers rejected: red until the author narrows the twin
        assert rc == 1 and f"FAIL QA-{h['rule_id']}: should not flag" in result
        # the author's fix: an `unless` on the rejected wording (patterns see normalised text: no full-width
        # punctuation, so the longest run of Chinese characters of the span)
        words = max(__import__("re").findall(r"[\u4e00-\u9fff]+", h["text"]), key=len)
        twin["unless"] = list(twin.get("unless", [])) + [words]
        import tomli_w

        (tmp_path / "team_rules" / "review-feedback.toml").write_text(tomli_w.dumps(data))
        rc = main(["rules", "test", "team_rules"])
        result = capsys.readouterr().out
    assert rc == 0 and "1 rules checked, 0 failed" in result, result
    # again: the twin (possibly edited by its author) is kept, nothing duplicated
    assert main(args) == 0
    again = tomllib.loads((tmp_path / "team_rules" / "review-feedback.toml").read_text())["rule"][0]
    assert again["examples"]["clean"] == twin["examples"]["clean"] and again.get("unless") == twin.get("unless")


def test_migrations_match_the_schema(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), t.metadata)
        rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
    assert diffs == [] and rev == "0001"
    from tonecheck.store import open_store

    open_store(store.url).dispose()       # opening again is a no-op migration
