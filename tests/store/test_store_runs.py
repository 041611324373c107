"""Storing batch runs: idempotent re-runs, stable hit ids, new / gone / changed, masking, incomplete runs."""
from __future__ import annotations

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from tonecheck.store import schema as t
from tonecheck.store.runs import begin_run, store_report


def _store(store, report, **kw):
    rep = copy.deepcopy(report)
    rid = begin_run(store, ["examples/"], "test")
    return store_report(store, rid, rep, actor="test", **kw), rep


def _count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_rerun_is_idempotent_and_reports_unchanged(store, examples_report):
    d1, rep = _store(store, examples_report)
    assert d1.status == "complete" and d1.new == d1.findings > 0 and d1.gone == d1.changed == 0
    sizes = {tb.name: _count(store, tb) for tb in (t.conversations, t.turns, t.hits)}
    assert sizes["conversations"] == len(examples_report["conversations"])
    d2, rep2 = _store(store, examples_report)
    assert (d2.new, d2.gone, d2.changed, d2.unchanged) == (0, 0, 0, d1.findings)
    assert {tb.name: _count(store, tb) for tb in (t.conversations, t.turns, t.hits)} == sizes
    assert _count(store, t.runs) == 2
    ids1 = [f["hit_id"] for c in rep["conversations"] for f in c["findings"]]
    ids2 = [f["hit_id"] for c in rep2["conversations"] for f in c["findings"]]
    assert ids1 == ids2 and all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids1)
    assert rep2["store"]["unchanged"] == d1.findings
    assert {(f["category"] == "risk", f["review"]) for c in rep2["conversations"] for f in c["findings"]} == \
        {(False, "unreviewed"), (True, "signal")}


def test_rule_upgrade_keeps_the_id_and_the_verdict_and_reports_changed(store, examples_report):
    from tonecheck.store import review
    from tonecheck.store.users import add_user, authenticate

    _, rep = _store(store, examples_report)
    conv = next(c for c in rep["conversations"] if any(f["turn"] is not None and f["category"] != "risk"
                                                       for f in c["findings"]))
    f0 = next(f for f in conv["findings"] if f["turn"] is not None and f["category"] != "risk")
    lead = authenticate(store, add_user(store, "lead", "lead"))
    review.set_verdict(store, lead, f0["hit_id"], "confirmed", "")
    upgraded = copy.deepcopy(examples_report)
    for c in upgraded["conversations"]:
        for f in c["findings"]:
            if c["id"] == conv["id"] and (f["turn"], f["start"], f["subtype"]) == (f0["turn"], f0["start"], f0["subtype"]):
                f.update(rule_id=f["rule_id"] + "-V2", message="新版说明", severity="high")
    d, rep2 = _store(store, upgraded)
    assert (d.changed, d.new, d.gone) == (1, 0, 0)
    same = next(f for c in rep2["conversations"] if c["id"] == conv["id"] for f in c["findings"]
                if f["hit_id"] == f0["hit_id"])
    assert same["rule_id"].endswith("-V2") and same["review"] == "confirmed"
    with store.read() as conn:
        ev = conn.execute(sa.select(t.hit_events.c.details).where(t.hit_events.c.event == "changed")).scalar_one()
    assert json.loads(ev)["rule_id"] == [f0["rule_id"], f0["rule_id"] + "-V2"]


def test_gone_and_back(store, examples_report):
    _, rep = _store(store, examples_report)
    conv_id = next(c["id"] for c in rep["conversations"] if c["findings"])
    fewer = copy.deepcopy(examples_report)
    conv = next(c for c in fewer["conversations"] if c["id"] == conv_id)
    dropped = len(conv["findings"])
    conv["findings"] = []
    d, _ = _store(store, fewer)
    assert d.gone == dropped and d.new == 0
    # a run over other files does not make this call's hits gone
    other = copy.deepcopy(examples_report)
    other["conversations"] = [c for c in other["conversations"] if c["id"] != conv_id]
    assert _store(store, other)[0].gone == 0
    d, _ = _store(store, examples_report)
    assert d.new == dropped and d.gone == 0


def test_text_is_stored_masked_and_ids_do_not_depend_on_show_pii(store, examples_report, examples_report_pii):
    raw_digits = {m for c in examples_report_pii["conversations"] for u in c["turns"]
                  for m in re.findall(r"\d{11,}", u["text"])}
    assert raw_digits, "the examples should carry an identifier to mask"
    _, rep = _store(store, examples_report)
    d, rep_pii = _store(store, examples_report_pii, masked=False)
    assert d.new == 0 and d.unchanged == d.findings
    assert [f["hit_id"] for c in rep["conversations"] for f in c["findings"]] == \
           [f["hit_id"] for c in rep_pii["conversations"] for f in c["findings"]]
    # the report the user asked for keeps its identifiers; the store never has them
    assert any(m in json.dumps(rep_pii, ensure_ascii=False) for m in raw_digits)
    with store.read() as conn:
        texts = [r[0] for r in conn.execute(sa.select(t.turns.c.text))] + \
                [r[0] for r in conn.execute(sa.select(t.hits.c.text))] + \
                [r[0] or "" for r in conn.execute(sa.select(t.turns.c.rewrite))]
    assert not any(m in x for m in raw_digits for x in texts)


def test_a_failing_write_leaves_the_run_incomplete_with_whole_conversations(store, examples_report, monkeypatch):
    from tonecheck.store import runs

    real = runs._store_chunk
    calls = {"n": 0}

    def flaky(conn, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            real(conn, *a, **kw)            # written, then the transaction fails: nothing of it may remain
            raise sa.exc.OperationalError("insert", {}, Exception("disk I/O error"))
        return real(conn, *a, **kw)

    monkeypatch.setattr(runs, "_store_chunk", flaky)
    rid = begin_run(store, ["examples/"], "test")
    with pytest.raises(sa.exc.OperationalError):
        store_report(store, rid, copy.deepcopy(examples_report), actor="test", chunk=5)
    with store.read() as conn:
        run = conn.execute(sa.select(t.runs).where(t.runs.c.id == rid)).one()
        n_conv = conn.execute(sa.select(sa.func.count()).select_from(t.conversations)).scalar_one()
        turns_by_conv = dict(conn.execute(sa.select(t.turns.c.conversation_id, sa.func.count())
                                          .group_by(t.turns.c.conversation_id)).all())
        convs = conn.execute(sa.select(t.conversations.c.id, t.conversations.c.conv_key)).all()
    assert run.status == "incomplete" and run.finished_at is None
    assert n_conv == 5                                   # the first chunk only, the second rolled back
    by_key = {c["id"]: c for c in examples_report["conversations"]}
    for cid, key in convs:                               # each stored conversation has all its turns
        assert turns_by_conv.get(cid, 0) == len(by_key[key]["turns"])


def test_interrupted_report_is_stored_as_incomplete(store, examples_report):
    partial = copy.deepcopy(examples_report)
    partial["partial"] = True
    d, _ = _store(store, partial)
    assert d.status == "incomplete"
    with store.read() as conn:
        run = conn.execute(sa.select(t.runs)).one()
    assert run.status == "incomplete" and run.interrupted and run.finished_at is not None


def test_killed_check_leaves_the_run_incomplete(store_url, tmp_path):
    """``tonecheck check --store`` killed (SIGKILL) while it works: the run stays incomplete."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "benchmarks"))
    from gen_corpus import write_corpus

    write_corpus(tmp_path / "corpus", 300)
    proc = subprocess.Popen([sys.executable, "-m", "tonecheck.cli", "check", str(tmp_path / "corpus"), "--store",
                             store_url, "-q", "-j", "1", "-o", str(tmp_path / "r.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    from tonecheck.store import open_store

    deadline = time.monotonic() + 60
    store = None
    try:
        while time.monotonic() < deadline:
            try:
                store = store or open_store(store_url, migrate_schema=False)
                with store.read() as conn:
                    if conn.execute(sa.select(t.runs.c.id)).first():
                        break
            except Exception:
                pass
            if proc.poll() is not None:
                pytest.fail("tonecheck check finished before it could be killed: "
                            + proc.stderr.read().decode(errors="replace")[-300:])
            time.sleep(0.02)
        else:
            pytest.fail("the run was never recorded")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        with store.read() as conn:
            run = conn.execute(sa.select(t.runs)).one()
        assert run.status == "incomplete" and run.finished_at is None
        assert not (tmp_path / "r.json").exists()
        out = subprocess.run([sys.executable, "-m", "tonecheck.cli", "runs", "--store", store_url],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and re.search(r"run 1\s+incomplete", out.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
        if store is not None:
            store.dispose()


def test_check_store_cli_end_to_end(store_url, tmp_path, capsys):
    from tonecheck.cli import main

    out = tmp_path / "r.json"
    rc = main(["check", str(__import__("pathlib").Path(__file__).resolve().parents[2] / "examples"), "--no-config",
               "-j", "1", "--store", store_url, "-o", str(out)])
    assert rc == 1
    err = capsys.readouterr().err
    assert re.search(r"store: run \d+ complete in .*hits \d+ new", err)
    rep = json.loads(out.read_text())
    assert rep["store"]["status"] == "complete"
    assert all("hit_id" in f and f["review"] == ("signal" if f["category"] == "risk" else "unreviewed")
               for c in rep["conversations"] for f in c["findings"])
    # a store that cannot be opened is one line and exit 2, before any checking
    assert main(["check", "examples", "--store", str(tmp_path / "missing" / "qa.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_html_report_shows_the_review_status(store, examples_report):
    import io

    from tonecheck.batch.report import write_html
    from tonecheck.store import review
    from tonecheck.store.users import add_user, authenticate

    def statuses(report):
        """(review status, hit id) of each violation, as the page's script gets them (it draws the badge
        of each finding when its call is opened; tests/test_batch_html.py checks the drawing)."""
        out = io.StringIO()
        write_html(report, out)
        block = re.search(r'<script type="application/json" id="tc-data">(.*?)</script>', out.getvalue(), re.S)
        data = json.loads(block.group(1))
        assert "复核：确认违规" == data["labels"]["review"]["confirmed"]
        return [(f[12], f[13]) for c in data["calls"] for f in c["f"] if f[3] != "risk"]

    _, rep = _store(store, examples_report)
    shown = statuses(rep)
    assert len(shown) == sum(f["category"] != "risk" for c in rep["conversations"] for f in c["findings"])
    assert all(st == "unreviewed" and hid for st, hid in shown)
    hit = next(f for c in rep["conversations"] for f in c["findings"] if f["category"] != "risk")
    review.set_verdict(store, authenticate(store, add_user(store, "rev", "reviewer")), hit["hit_id"], "confirmed")
    _, rep2 = _store(store, examples_report)
    assert ("confirmed", hit["hit_id"]) in statuses(rep2)
    assert all(st is None for st, _ in statuses(copy.deepcopy(examples_report)))   # without a store: no badges
