"""The review loop on both backends: queue order and filters, claims (also concurrent), verdicts,
appeals, the lead's decision, role limits and the audit log."""
from __future__ import annotations

import copy
import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from tonecheck.store import review, schema as t
from tonecheck.store.review import Conflict, Filters, Forbidden, NotFound
from tonecheck.store.runs import begin_run, store_report
from tonecheck.store.users import add_user, authenticate


@pytest.fixture
def loaded(store, examples_report):
    store_report(store, begin_run(store, ["x"], "test"), copy.deepcopy(examples_report), actor="test")
    users = {name: authenticate(store, add_user(store, name, role, agent_id=agent))
             for name, role, agent in (("rev1", "reviewer", None), ("rev2", "reviewer", None), ("lead", "lead", None),
                                       ("a17", "agent", "A017"), ("a19", "agent", "A019"))}
    return store, users


def _open_hits(store):
    with store.read() as conn:
        return conn.execute(sa.select(t.hits).where(t.hits.c.category != "risk", t.hits.c.present.is_(True))).all()


def test_queue_is_worst_first_and_filters(loaded):
    store, u = loaded
    q = review.list_hits(store, u["rev1"], queue=True, limit=500)
    items = q["items"]
    assert q["total"] == len(items) == len(_open_hits(store))
    keys = [(-{"high": 3, "medium": 2, "low": 1}[h["severity"]], h["conv_score"], h["hit_id"]) for h in items]
    assert keys == sorted(keys)
    assert all(h["category"] != "risk" for h in items)
    by_agent = review.list_hits(store, u["rev1"], Filters(agent="A019"), queue=True, limit=500)["items"]
    assert by_agent and {h["agent_id"] for h in by_agent} == {"A019"}
    rule = items[0]["rule_id"]
    assert {h["rule_id"] for h in review.list_hits(store, u["rev1"], Filters(rule=rule), queue=True)["items"]} == {rule}
    day = dt.date.fromisoformat(items[0]["call_date"])
    dated = review.list_hits(store, u["rev1"], Filters(date_from=day, date_to=day), queue=True, limit=500)["items"]
    assert dated and {h["call_date"] for h in dated} == {day.isoformat()}
    assert review.list_hits(store, u["rev1"], Filters(date_from=day + dt.timedelta(days=3650)), queue=True)["total"] == 0


def test_detail_has_the_turn_neighbours_reason_regulation_and_rewrite(loaded):
    store, u = loaded
    h = review.claim_next(store, u["rev1"])
    turn = next(x for x in h["turns"] if x["position"] == h["turn"])
    assert turn["text"][h["start"]:h["end"]] == h["text"]
    assert len(h["turns"]) >= 2 and h["message"] and h["source"] and (turn["rewrite"] or h["suggestion"] is not None)
    assert h["claimed_by"] == "rev1"


def test_verdicts_claims_and_conflicts(loaded):
    store, u = loaded
    h = review.claim_next(store, u["rev1"])
    with pytest.raises(Conflict, match="being reviewed by rev1"):
        review.set_verdict(store, u["rev2"], h["hit_id"], "rejected")
    assert review.claim_next(store, u["rev2"])["hit_id"] != h["hit_id"]
    assert review.claim_next(store, u["rev1"])["hit_id"] == h["hit_id"]        # my claim comes back to me
    review.set_verdict(store, u["rev1"], h["hit_id"], "confirmed", "明确威胁")
    with pytest.raises(Conflict, match="already confirmed"):
        review.set_verdict(store, u["rev2"], h["hit_id"], "rejected")
    review.set_verdict(store, u["lead"], h["hit_id"], "unsure", "再听录音")     # a lead may revise
    review.set_verdict(store, u["rev2"], h["hit_id"], "confirmed")            # unsure goes back to reviewers
    d = review.get_hit(store, u["rev1"], h["hit_id"])
    assert [v["verdict"] for v in d["verdicts"]] == ["confirmed", "unsure", "confirmed"]
    assert h["hit_id"] not in {x["hit_id"] for x in review.list_hits(store, u["rev1"], queue=True, limit=500)["items"]}
    with pytest.raises(review.Invalid):
        review.set_verdict(store, u["rev1"], h["hit_id"], "maybe")
    with pytest.raises(Forbidden):
        review.set_verdict(store, u["a17"], h["hit_id"], "rejected")


def test_expired_claim_goes_to_the_next_reviewer(loaded):
    store, u = loaded
    h = review.claim_next(store, u["rev1"], seconds=60)
    with store.write() as conn:
        conn.execute(sa.update(t.hits).where(t.hits.c.hit_id == h["hit_id"])
                     .values(claim_expires=dt.datetime(2000, 1, 1)))
    assert review.claim_next(store, u["rev2"])["hit_id"] == h["hit_id"]
    review.release(store, u["rev2"], h["hit_id"])
    assert review.get_hit(store, u["rev1"], h["hit_id"])["claimed_by"] is None


def test_two_reviewers_claiming_at_once_never_get_the_same_hit(loaded, examples_report):
    store, u = loaded
    for k in range(4):      # more calls (the same day under other ids): a longer queue to fight over
        more = copy.deepcopy(examples_report)
        for c in more["conversations"]:
            c["id"] = f"{c['id']}-copy{k}"
        store_report(store, begin_run(store, ["x"], "test"), more, actor="test")
    n = len(_open_hits(store))
    assert n > 60
    got: dict[str, list[str]] = {"rev1": [], "rev2": []}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            start.wait()
            while True:
                h = review.claim_next(store, u[name])
                if h is None:
                    return
                got[name].append(h["hit_id"])
                with store.write() as conn:    # keep the claim but take the hit out of the queue (like a verdict)
                    conn.execute(sa.update(t.hits).where(t.hits.c.hit_id == h["hit_id"]).values(status="unsure"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in got]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    both = got["rev1"] + got["rev2"]
    assert len(both) == len(set(both)) == n
    assert not set(got["rev1"]) & set(got["rev2"])


def test_appeal_and_the_leads_decision(loaded):
    store, u = loaded
    mine = review.list_hits(store, u["a17"], limit=500)["items"]
    assert mine and {h["agent_id"] for h in mine} == {"A017"}
    hid = next(h["hit_id"] for h in mine if h["category"] != "risk")
    with pytest.raises(Conflict, match="only a confirmed hit"):
        review.appeal(store, u["a17"], hid, "我没有这样说")
    review.set_verdict(store, u["rev1"], hid, "confirmed")
    with pytest.raises(NotFound):                      # another agent's hit does not exist for a19
        review.appeal(store, u["a19"], hid, "x")
    with pytest.raises(Forbidden):
        review.appeal(store, u["rev1"], hid, "x")
    ap = review.appeal(store, u["a17"], hid, "客户先骂人，我只是复述")
    with pytest.raises(Conflict, match="already appealed"):
        review.appeal(store, u["a17"], hid, "again")
    with pytest.raises(Conflict, match="open appeal"):
        review.set_verdict(store, u["lead"], hid, "rejected")
    assert [a["id"] for a in review.list_appeals(store, u["lead"])] == [ap["appeal_id"]]
    assert review.list_appeals(store, u["a19"], status=None) == []
    with pytest.raises(Forbidden):
        review.decide(store, u["rev1"], ap["appeal_id"], "overturned")
    out = review.decide(store, u["lead"], ap["appeal_id"], "overturned", "复述不算")
    assert out["hit_status"] == "rejected"
    d = review.get_hit(store, u["a17"], hid)
    assert d["status"] == "rejected" and d["appeal"] == "overturned"
    assert all("by" not in v for v in d["verdicts"])   # an agent sees decisions, not who made them
    assert all("decided_by" not in a for a in d["appeals"]) and d["appeals"][0]["status"] == "overturned"
    with pytest.raises(Conflict, match="already decided"):
        review.decide(store, u["lead"], ap["appeal_id"], "upheld")


def test_agents_see_only_their_own_calls(loaded):
    store, u = loaded
    all_hits = _open_hits(store)
    other = next(h for h in all_hits if h.agent_id not in ("A017", None))
    with pytest.raises(NotFound):
        review.get_hit(store, u["a17"], other.hit_id)
    with store.read() as conn:
        key = conn.execute(sa.select(t.conversations.c.conv_key)
                           .where(t.conversations.c.id == other.conversation_id)).scalar_one()
    with pytest.raises(NotFound):
        review.get_call(store, u["a17"], key)
    assert review.list_hits(store, u["a17"], Filters(agent=other.agent_id))["total"] == 0
    for fn in (lambda a: review.list_hits(store, a, queue=True), lambda a: review.claim_next(store, a),
               lambda a: review.filter_options(store, a), lambda a: review.audit_log(store, a)):
        with pytest.raises(Forbidden):
            fn(u["a17"])
    with pytest.raises(Forbidden):
        review.audit_log(store, u["rev1"])


def test_every_write_is_audited(loaded):
    store, u = loaded
    h = review.claim_next(store, u["rev1"])
    review.set_verdict(store, u["rev1"], h["hit_id"], "confirmed")
    mine = next(x["hit_id"] for x in review.list_hits(store, u["a17"], limit=500)["items"] if x["category"] != "risk")
    review.set_verdict(store, u["rev2"], mine, "confirmed")
    ap = review.appeal(store, u["a17"], mine, "理由")
    review.decide(store, u["lead"], ap["appeal_id"], "upheld")
    log = review.audit_log(store, u["lead"])
    actions = [(x["actor"], x["action"]) for x in reversed(log)]
    for expected in [("test", "run.start"), ("test", "run.store"), ("cli", "user.add"), ("rev1", "hit.claim"),
                     ("rev1", "hit.verdict"), ("rev2", "hit.verdict"), ("a17", "appeal.open"), ("lead", "appeal.decide")]:
        assert expected in actions
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.verdicts)).scalar_one() == 3
