"""The batch run: discover files, read and check them in a process pool, then
apply the contact policy and scores across the batch.

Every input file ends up in ``report["files"]`` with a status (``ok``,
``error``, ``skipped`` or ``not_processed`` after an interrupt) and every
conversation read in ``report["conversations"]`` with ``ok`` or ``error``.
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

from .. import __version__
from ..checker import Checker, ConfigError, InputError, check_selectors
from ..engine import DEFAULT_DEADLINE_S
from ..models import Conversation
from ..labels import in_display_order, table as label_table
from ..pii import mask_result, mask_text
from .config import BatchConfig
from .contact import contact_findings, contact_key
from .readers import EXTENSIONS, ConvError, Speakers, read_path
from .scoring import aggregate, is_answered, is_attempt, score_record
from .trends import trends

REPORT_SCHEMA = "tonecheck.batch/1"


@dataclass
class RunOptions:
    config: BatchConfig = field(default_factory=BatchConfig)
    input_format: str | None = None
    jobs: int = 0                 # 0: os.cpu_count()
    show_pii: bool = False
    progress: Callable[[dict[str, Any]], None] | None = None


# -- discovery --------------------------------------------------------------------------------

CONFIG_EXTENSIONS = (".toml",)      # tonecheck.toml, pyproject.toml, team lexicons: never transcripts


def discover(paths: list[str]) -> list[dict[str, Any]]:
    """File entries in input order: {"path", "status": None|"error"|"skipped"|"config", "error"}.

    In a walked directory, a file without a transcript extension is ``skipped`` and a config or
    lexicon file (``.toml``) is ``config``: listed, never read as a transcript.
    """
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(path: str, status: str | None = None, error: str | None = None) -> None:
        key = os.path.realpath(path) if path != "-" else "-"
        if key in seen:
            return
        seen.add(key)
        out.append({"path": path, "status": status, "error": error})

    for p in paths:
        if p == "-":
            add("-")
            continue
        path = Path(p)
        if path.is_dir():
            found = False
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or name.startswith("~$"):
                        continue
                    fp = os.path.join(root, name)
                    found = True
                    if Path(name).suffix.lower() in EXTENSIONS:
                        add(fp)
                    elif Path(name).suffix.lower() in CONFIG_EXTENSIONS:
                        add(fp, "config", "config or lexicon file (.toml), not a transcript")
                    else:
                        add(fp, "skipped", "not a transcript file extension")
            if not found:
                add(p, "error", "empty directory")
        elif path.is_file():
            add(p)
        elif path.exists():
            add(p, "error", "not a regular file")
        else:
            add(p, "error", "no such file or directory")
    return out


# -- per-file work (runs in workers) -------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_state(checker: Checker, opts: RunOptions) -> None:
    cfg = opts.config
    _STATE.update(checker=checker, speakers=Speakers(cfg.agent_labels, cfg.customer_labels),
                  columns=cfg.columns, input_format=opts.input_format, show_pii=opts.show_pii)


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent decides what an interrupt means


def _jsonable(v: Any) -> Any:
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def check_one(conv: Conversation | ConvError, file_shown: str) -> dict[str, Any]:
    """One conversation record (JSON-ready)."""
    show = _STATE["show_pii"]
    if isinstance(conv, ConvError):
        return {"file": file_shown, "id": conv.id, "status": "error", "error": conv.reason if show else mask_text(conv.reason),
                "turns": [], "findings": []}
    meta = {k: _jsonable(v) for k, v in conv.metadata.items()}
    rec: dict[str, Any] = {"file": file_shown, "id": conv.id, "status": "ok", "error": None,
                           "counterpart": conv.counterpart, "channel": conv.channel,
                           "agent_id": meta.get("agent_id"), "call_start": meta.get("call_start"),
                           "outcome": meta.get("outcome"), "_contact_key": contact_key(meta.get("contact_id"))}
    cid = meta.get("contact_id")
    rec["contact_id"] = None if cid in (None, "") else (str(cid) if show else mask_text(str(cid)))
    extra = {k: v for k, v in meta.items() if k not in ("agent_id", "call_start", "outcome", "contact_id")}
    rec["metadata"] = extra if show else {k: mask_text(str(v)) if isinstance(v, str) else v for k, v in extra.items()}
    try:
        res = _STATE["checker"].check_conversation(conv)
    except InputError as exc:
        return {**rec, "status": "error", "error": str(exc).splitlines()[0], "turns": [], "findings": []}
    turns, findings = [], []
    for i, (u, r) in enumerate(zip(conv.utterances, res.utterances)):
        if not show:
            r = mask_result(r)
        text, fs, rewrite = r.text, r.findings, r.rewrite
        turns.append({"speaker": r.role, "text": text, "start": u.start, "end": u.end,
                      "counterpart": res.counterparts[i] if i < len(res.counterparts) else None,
                      "rewrite": rewrite if r.violations else None, "truncated": r.truncated})
        for f in fs:
            findings.append({"turn": i, "speaker": r.role, "time": u.start, **f.model_dump(mode="json")})
    rec["turns"] = turns
    rec["findings"] = findings
    return rec


def process_file(entry: dict[str, Any], part: int = 0, parts: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read one file and check its conversations number part, part + parts, …; never raises for bad content."""
    t0 = time.perf_counter()
    path = entry["path"]
    shown = "<stdin>" if path == "-" else path
    data = entry.get("data")
    fr = read_path(path if path != "-" else "-", input_format=_STATE["input_format"], speakers=_STATE["speakers"],
                   columns=_STATE["columns"], data=data, display=shown)
    file_entry: dict[str, Any] = {"path": shown, "format": fr.format or None, "encoding": fr.encoding,
                                  "status": "error" if fr.error else "ok",
                                  "error": fr.error if (fr.error is None or _STATE["show_pii"]) else mask_text(fr.error),
                                  "conversations": 0, "conversation_errors": 0,
                                  "unknown_labels": dict(fr.unknown_labels)}
    records = []
    for item in fr.items[part::parts]:
        try:
            rec = check_one(item, shown)
        except Exception as exc:  # a bug must not stop the batch; report it on the conversation
            rec = {"file": shown, "id": getattr(item, "id", "?"), "status": "error",
                   "error": f"internal error: {type(exc).__name__}: {str(exc)[:200]}", "turns": [], "findings": []}
        records.append(rec)
    file_entry["seconds"] = round(time.perf_counter() - t0, 4)
    return file_entry, records


def _finalize(parts: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Merge the parts of one file (round-robin order restored) and set its counts and status."""
    file_entry = dict(parts[0][0])
    n = len(parts)
    if n == 1:
        records = list(parts[0][1])
    else:
        records = [recs[r] for r in range(max(len(recs) for _, recs in parts)) for _, recs in parts if r < len(recs)]
        file_entry["seconds"] = round(sum(fe.get("seconds", 0) for fe, _ in parts), 4)
        failed = [fe for fe, _ in parts if fe["status"] == "error"]
        if failed and not file_entry["error"]:
            file_entry["status"], file_entry["error"] = "error", f"part of the file: {failed[0]['error']}"
            file_entry["format"] = file_entry["format"] or next((fe["format"] for fe, _ in parts if fe["format"]), None)
    file_entry["conversations"] = len(records)
    file_entry["conversation_errors"] = sum(r["status"] == "error" for r in records)
    if records and file_entry["conversation_errors"] == len(records) and not file_entry["error"]:
        file_entry["status"] = "error"
        file_entry["error"] = "no conversation could be read: " + records[0]["error"]
    return file_entry, records


def _safe_process(entry: dict[str, Any], part: int = 0, parts: int = 1) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        return process_file(entry, part, parts)
    except Exception as exc:
        return ({"path": entry["path"], "format": None, "encoding": None, "status": "error",
                 "error": f"internal error: {type(exc).__name__}: {str(exc)[:200]}", "conversations": 0,
                 "conversation_errors": 0, "unknown_labels": {}}, [])


def _size(path: str) -> int:
    try:
        return max(1, os.path.getsize(path))
    except OSError:
        return 1


SPLIT_BYTES = 1 << 20     # a file this big is checked by every worker, each taking every n-th conversation


def _process_chunk(entries: list[tuple[dict[str, Any], int, int]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [_safe_process(e, k, n) for e, k, n in entries]


def _chunks(todo: list[int], entries: list[dict[str, Any]], jobs: int) -> list[list[tuple[int, int, int]]]:
    """Tasks of (file index, part, parts): a big file is split into one part per worker (each
    reads it and checks every n-th conversation), small files are grouped into tasks of roughly
    equal size (fewer round trips to the pool); about 8 tasks per worker keeps the load
    balanced and the progress bar moving."""
    units: list[tuple[tuple[int, int, int], int]] = []
    for i in todo:
        size = _size(entries[i]["path"])
        n = jobs if size >= SPLIT_BYTES else 1
        units.extend(((i, k, n), size // n) for k in range(n))
    target = max(1, sum(sz for _, sz in units) // (jobs * 8))
    out: list[list[tuple[int, int, int]]] = []
    cur: list[tuple[int, int, int]] = []
    acc = 0
    for u, sz in units:
        cur.append(u)
        acc += sz
        if acc >= target or len(cur) >= 64:
            out.append(cur)
            cur, acc = [], 0
    if cur:
        out.append(cur)
    return out


# -- the run ---------------------------------------------------------------------------------

_CHECKERS: dict[tuple, Checker] = {}


def _lexicon_stamp(dirs: list[str]) -> tuple:
    """Names, sizes and mtimes of the lexicon files: an edited file means a fresh checker."""
    out = []
    for d in dirs:
        for p in sorted(Path(d).rglob("*")):
            if p.is_file():
                st = p.stat()
                out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def cached_checker(lexicon_dirs: list[str] = (), *, enable: list[str] | None = None, disable: list[str] = (),
                   severity: dict[str, str] | None = None, allow: list[str] = (),
                   deadline_s: float = DEFAULT_DEADLINE_S, model: bool | str = True,
                   model_thresholds: dict[str, float] | None = None) -> Checker:
    """A Checker per distinct configuration, reused within the process (building one loads
    every lexicon; the CLI in tests and long-lived callers ask for the same one many times)."""
    dirs = [str(Path(d).resolve()) for d in lexicon_dirs]
    key = (tuple(dirs), _lexicon_stamp(dirs), None if enable is None else tuple(enable), tuple(disable),
           tuple(sorted((severity or {}).items())), tuple(allow), deadline_s, model,
           tuple(sorted((model_thresholds or {}).items())))
    if key not in _CHECKERS:
        if len(_CHECKERS) >= 8:
            _CHECKERS.pop(next(iter(_CHECKERS)))
        _CHECKERS[key] = Checker(dirs, enable=enable, disable=list(disable), severity=dict(severity or {}),
                                 allow=list(allow), deadline_s=deadline_s, model=model,
                                 model_thresholds=dict(model_thresholds or {}))
    return _CHECKERS[key]


def build_checker(cfg: BatchConfig) -> Checker:
    """The checker the config describes; every rule selector in the config must name a rule.

    A misspelt ``enable`` would otherwise switch every rule off and report a
    clean day: a selector error is a ConfigError naming the file and key.
    """
    kw = cfg.checker_kwargs()
    where = f"{cfg.path}: " if cfg.path else ""
    prefix = "tool.tonecheck." if cfg.path and Path(cfg.path).name == "pyproject.toml" else ""
    try:
        if not any((kw["lexicon_dirs"], kw["enable"] is not None, kw["disable"], kw["severity"], kw["allow"],
                    kw["deadline_s"] != DEFAULT_DEADLINE_S, kw["model"] is not True, kw["model_thresholds"])):
            from .. import default_checker

            checker = default_checker()
        else:
            checker = cached_checker(kw["lexicon_dirs"], enable=kw["enable"], disable=kw["disable"],
                                     severity=kw["severity"], allow=kw["allow"], deadline_s=kw["deadline_s"],
                                     model=kw["model"], model_thresholds=kw["model_thresholds"])
        check_selectors(cfg.scoring.critical, checker.lexicon.rules, "scoring.critical")
        check_selectors(cfg.scoring.rules, checker.lexicon.rules, "scoring.rules")
    except ConfigError as exc:
        raise ConfigError(where + prefix + str(exc)) from None
    return checker


def run_batch(paths: list[str], opts: RunOptions, *, checker: Checker | None = None,
              stdin_data: bytes | None = None) -> dict[str, Any]:
    """Run the whole batch and return the report (a JSON-ready dict)."""
    t0 = time.perf_counter()
    started = dt.datetime.now(dt.timezone.utc)
    cfg = opts.config
    entries = discover(paths)
    todo = [i for i, e in enumerate(entries) if e["status"] is None]
    for e in entries:
        if e["path"] == "-":
            e["data"] = stdin_data if stdin_data is not None else b""
    results: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    jobs = opts.jobs or os.cpu_count() or 1
    if not any(_size(entries[i]["path"]) >= SPLIT_BYTES for i in todo):     # a big file is shared by all workers
        jobs = min(jobs, len(todo) or 1)
    jobs = max(1, jobs)
    stats = {"files_total": len(todo), "files_done": 0, "conversations": 0, "errors": 0, "elapsed": 0.0}
    interrupted = False

    partials: dict[int, dict[int, tuple[dict[str, Any], list[dict[str, Any]]]]] = {}

    def done_part(i: int, k: int, n: int, res: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        got = partials.setdefault(i, {})
        got[k] = res
        if len(got) == n:
            done(i, _finalize([got[j] for j in range(n)]))

    def done(i: int, res: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
        results[i] = res
        stats["files_done"] += 1
        stats["conversations"] += len(res[1])
        stats["errors"] += (res[0]["status"] == "error") + sum(r["status"] == "error" for r in res[1])
        stats["elapsed"] = time.perf_counter() - t0
        if opts.progress:
            opts.progress(stats)

    try:
        checker = checker or build_checker(cfg)     # inside the try: Ctrl-C while loading still gives a report
        _init_state(checker, opts)
        t0 = time.perf_counter()                    # rates count checking, not loading the lexicons
        if jobs == 1 or any(entries[i]["path"] == "-" for i in todo):
            for i in todo:
                done(i, _finalize([_safe_process(entries[i])]))
        else:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork"), initializer=_worker_init)
            try:
                pending = {pool.submit(_process_chunk, [(entries[i], k, n) for i, k, n in chunk]): chunk
                           for chunk in _chunks(todo, entries, jobs)}
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        chunk = pending.pop(fut)
                        try:
                            outs = fut.result()
                        except Exception as exc:   # a crashed worker (BrokenProcessPool)
                            outs = [({"path": entries[i]["path"], "format": None, "encoding": None, "status": "error",
                                      "error": f"worker failed: {type(exc).__name__}", "conversations": 0,
                                      "conversation_errors": 0, "unknown_labels": {}}, []) for i, _, _ in chunk]
                        for (i, k, n), res in zip(chunk, outs):
                            done_part(i, k, n, res)
            except KeyboardInterrupt:
                # Stop the workers outright: an interrupt that lands inside submit() can leave one
                # waiting on the task queue's lock for ever, and the exit would then wait for it.
                # (Python 3.14 has pool.terminate_workers(); before that the process table is private.)
                for proc in list((getattr(pool, "_processes", None) or {}).values()):
                    proc.terminate()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
    except KeyboardInterrupt:
        interrupted = True

    files: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for i, e in enumerate(entries):
        if i in results:
            fe, recs = results[i]
            files.append(fe)
            records.extend(recs)
        elif e["status"] is None:
            files.append({"path": e["path"], "format": None, "encoding": None, "status": "not_processed",
                          "error": "interrupted before this file was checked", "conversations": 0,
                          "conversation_errors": 0, "unknown_labels": {}})
        else:
            files.append({"path": e["path"], "format": None, "encoding": None, "status": e["status"],
                          "error": e["error"], "conversations": 0, "conversation_errors": 0, "unknown_labels": {}})
    return finish_report(files, records, cfg, interrupted=interrupted, started=started,
                         elapsed=time.perf_counter() - t0, jobs=jobs, checker=checker)


def finish_report(files: list[dict[str, Any]], records: list[dict[str, Any]], cfg: BatchConfig, *,
                  interrupted: bool, started: dt.datetime, elapsed: float, jobs: int,
                  checker: Checker | None = None) -> dict[str, Any]:
    # contact policy across the batch (needs every record's metadata)
    keyed = [(n, {"call_start": r.get("call_start"), "contact_id": r.get("_contact_key"), "outcome": r.get("outcome")})
             for n, r in enumerate(records) if r["status"] == "ok"]
    extra, warnings = contact_findings(keyed, cfg.contact, enable=cfg.enable, disable=cfg.disable,
                                       severity=cfg.severity)
    for n, r in enumerate(records):
        r.pop("_contact_key", None)
        if n in warnings:
            r.setdefault("warnings", []).append(warnings[n])
        for f in extra.get(n, []):
            r["findings"].append({"turn": None, "speaker": None, "time": None, **f.model_dump(mode="json")})
        # Shown to people: violations first, most severe first, then by position (labels.finding_order).
        r["findings"] = in_display_order(r["findings"])
        if r["status"] == "ok":
            r["score"] = score_record(r["findings"], cfg.scoring)
        else:
            r["score"] = None
    summary = summarize(files, records, elapsed)
    summary["jobs"] = jobs
    tr = trends(records, cfg.contact.utc_offset)
    summary["period"] = tr["period"]
    aggregates = aggregate(records)
    aggregates["by_day"], aggregates["by_hour"] = tr["by_day"], tr["by_hour"]
    return {
        "schema": REPORT_SCHEMA, "tonecheck_version": __version__,
        "generated_at": started.isoformat(timespec="seconds"),
        "partial": interrupted, "interrupted": interrupted,
        "config": cfg.path, "tokenizer": getattr(checker, "tokenizer_name", None),
        "scoring": {"start": cfg.scoring.start, "deductions": cfg.scoring.deductions, "rules": cfg.scoring.rules,
                    "critical": cfg.scoring.critical, "pass_mark": cfg.scoring.pass_mark},
        "labels": label_table(getattr(checker, "lexicon", None)),
        "summary": summary, "aggregates": aggregates, "files": files, "conversations": records,
    }


def summarize(files: list[dict[str, Any]], records: list[dict[str, Any]], elapsed: float) -> dict[str, Any]:
    """Headline figures: scores, pass rate and violations count answered calls; unanswered attempts
    and their contact-policy findings are counted under ``attempts``."""
    fstat = Counter(f["status"] for f in files)
    cstat = Counter(r["status"] for r in records)
    answered = [r for r in records if is_answered(r)]
    attempts = [r for r in records if is_attempt(r)]
    by_cat: Counter = Counter()
    by_sev: Counter = Counter()
    violations = risk = 0
    for r in answered:
        for f in r["findings"]:
            by_cat[f["category"]] += 1
            if f["category"] == "risk":
                risk += 1
            else:
                violations += 1
                by_sev[f["severity"]] += 1
    att_viol = [f for r in attempts for f in r["findings"] if f["category"] != "risk"]
    unknown: Counter = Counter()
    for f in files:
        unknown.update(f.get("unknown_labels") or {})
    scores = [r["score"]["score"] for r in answered]
    errors = [{"file": f["path"], "conversation": None, "error": f["error"]} for f in files
              if f["status"] == "error" and not f.get("conversations")]
    errors += [{"file": r["file"], "conversation": r["id"], "error": r["error"]} for r in records
               if r["status"] == "error"]
    return {
        "files": {"total": len(files),
                  **{k: fstat.get(k, 0) for k in ("ok", "error", "skipped", "config", "not_processed")}},
        "conversations": {"total": len(records), "ok": cstat.get("ok", 0), "error": cstat.get("error", 0)},
        "calls": {"answered": len(answered), "unanswered": len(attempts)},
        "utterances": sum(len(r["turns"]) for r in records),
        "findings_by_category": dict(sorted(by_cat.items())),
        "violations_by_severity": {k: by_sev.get(k, 0) for k in ("high", "medium", "low")},
        "violations": violations, "risk_signals": risk,
        "conversations_with_violations": sum(1 for r in answered if any(f["category"] != "risk" for f in r["findings"])),
        "mean_score": round(sum(scores) / len(scores), 1) if scores else None,
        "passed": sum(1 for r in answered if r["score"]["passed"]),
        "critical": sum(1 for r in answered if r["score"]["critical"]),
        "self_harm": sum(1 for r in answered if any(f["subtype"] == "risk.self_harm" for f in r["findings"])),
        "attempts": {"total": len(attempts), "with_violations": sum(1 for r in attempts
                                                                    if any(f["category"] != "risk" for f in r["findings"])),
                     "violations": len(att_viol),
                     "by_subtype": dict(sorted(Counter(f["subtype"] for f in att_viol).items(),
                                               key=lambda kv: (-kv[1], kv[0])))},
        "unknown_speaker_labels": dict(unknown.most_common()),
        "errors": errors,
        "elapsed_seconds": round(elapsed, 3),
        "conversations_per_second": round(len(records) / elapsed, 1) if elapsed > 0 else None,
    }
