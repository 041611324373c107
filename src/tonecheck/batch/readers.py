"""Transcript readers, one per format, all producing the same outcome.

Every reader returns a :class:`FileRead`: the conversations it could read and,
for what it could not, :class:`ConvError` entries with a one-line reason, in
file order. A reader never raises for bad content; a file that yields nothing
carries a file-level ``error``.

Formats: ``json`` (one conversation or a list, or ``{"conversations": [...]}``),
``jsonl`` (one conversation per line, or one utterance per line grouped by
``conversation_id``), ``csv`` / ``tsv`` (one utterance per row), ``text``
(``坐席：…`` / ``客户：…`` lines, optional ``[00:01:23]`` timestamps and ``# key: value``
header lines), ``srt`` (timed subtitle blocks whose text starts with a speaker)
and ``xlsx`` (rows like CSV; needs openpyxl).
"""
from __future__ import annotations

import csv
import gc
import io
import json
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import regex

from ..models import Conversation, Utterance
from ..readers import AGENT_LABELS, CUSTOMER_LABELS
from .encoding import DecodeError, decode_bytes

FORMATS = ("json", "jsonl", "csv", "tsv", "text", "srt", "xlsx")
EXTENSIONS = {
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "text",
    ".text": "text", ".srt": "srt", ".xlsx": "xlsx",
}
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclass
class ConvError:
    """A conversation that could not be read; its id and reason are always writable in a report."""

    id: str
    reason: str

    def __post_init__(self) -> None:
        self.id, self.reason = displayable(str(self.id)), displayable(str(self.reason))


@dataclass
class FileRead:
    path: str
    format: str = ""
    encoding: str | None = None
    items: list[Conversation | ConvError] = field(default_factory=list)
    error: str | None = None
    unknown_labels: Counter = field(default_factory=Counter)


class Speakers:
    """Which labels mean agent and which customer (case-insensitive)."""

    def __init__(self, agent: Iterable[str] = AGENT_LABELS, customer: Iterable[str] = CUSTOMER_LABELS) -> None:
        self.agent = {a.strip().lower() for a in agent} | {"agent"}
        self.customer = {c.strip().lower() for c in customer} | {"customer"}
        self._seen: dict[Any, str | None] = {}  # a file repeats the same two or three labels

    def map(self, label: Any) -> str | None:
        try:
            return self._seen[label]
        except (KeyError, TypeError):
            pass
        low = str(label).strip().strip("[]【】()（）").strip().lower()
        out = "agent" if low in self.agent else "customer" if low in self.customer else None
        if isinstance(label, str) and len(self._seen) < 1024:
            self._seen[label] = out
        return out


class _Unknown(Exception):
    def __init__(self, label: str, where: str) -> None:
        super().__init__(label)
        self.label, self.where = label, where


# -- field aliases ------------------------------------------------------------------------

ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conv_id", "call_id", "session_id", "dialog_id", "会话id", "通话id",
                        "录音id", "会话编号", "通话编号", "录音编号"),
    "speaker": ("speaker", "role", "speaker_role", "角色", "说话人", "发言人", "说话方"),
    "text": ("text", "content", "utterance", "transcript", "sentence", "内容", "文本", "识别文本", "对话内容", "话术"),
    "start": ("start", "begin", "start_sec", "offset", "开始", "起始时间", "开始秒"),
    "end": ("end", "end_sec", "结束", "结束时间", "结束秒"),
    "agent_id": ("agent_id", "agent", "agent_name", "collector_id", "坐席工号", "坐席id", "工号", "坐席", "催收员"),
    "call_start": ("call_start", "call_time", "start_time", "call_start_time", "started_at", "通话开始时间",
                   "拨打时间", "呼叫时间", "通话时间"),
    "contact_id": ("contact_id", "contact", "phone", "callee", "customer_phone", "被叫", "被叫号码", "客户号码",
                   "联系号码", "联系人号码"),
    "outcome": ("outcome", "result", "call_result", "attempt_outcome", "接通状态", "通话结果", "是否接通"),
    "counterpart": ("counterpart", "listener", "通话对象", "对象"),
    "channel": ("channel", "渠道", "方式"),
}
CONV_FIELDS = ("agent_id", "call_start", "contact_id", "outcome")

_OUTCOME = {
    "answered": "answered", "connected": "answered", "接通": "answered", "已接通": "answered", "是": "answered",
    "yes": "answered", "true": "answered", "1": "answered",
    "unanswered": "unanswered", "no_answer": "unanswered", "noanswer": "unanswered", "missed": "unanswered",
    "busy": "unanswered", "未接通": "unanswered", "未接": "unanswered", "无人接听": "unanswered", "否": "unanswered",
    "no": "unanswered", "false": "unanswered", "0": "unanswered", "拒接": "unanswered", "关机": "unanswered",
}
_COUNTERPART = {"debtor": "debtor", "本人": "debtor", "债务人": "debtor", "third_party": "third_party",
                "第三方": "third_party", "家属": "third_party", "联系人": "third_party", "unknown": "unknown",
                "未知": "unknown", "": "unknown"}
_CHANNEL = {"call": "call", "电话": "call", "外呼": "call", "visit": "visit", "外访": "visit", "sms": "sms",
            "短信": "sms"}


def norm_outcome(v: Any) -> str | None:
    if v is None or v == "":
        return None
    return _OUTCOME.get(str(v).strip().lower(), str(v).strip().lower())


def resolve_header(header: list[str], columns: dict[str, str]) -> dict[str, int]:
    """canonical field -> column index, by the aliases or the [columns] mapping (case-insensitive)."""
    low = [str(h or "").strip().lower() for h in header]
    out: dict[str, int] = {}
    for fld, names in ALIASES.items():
        wanted = [columns[fld].strip().lower()] if fld in columns else list(names)
        for name in wanted:
            if name in low:
                out[fld] = low.index(name)
                break
    return out


def parse_seconds(v: Any) -> float | None:
    """83.5 / "83.5" / "00:01:23" / "01:23,500" -> seconds."""
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip().strip("[]")
    try:
        if ":" in s:
            total = 0.0
            for p in s.split(":"):
                total = total * 60 + float(p.replace(",", "."))
            return total
        return float(s)
    except ValueError:
        return None


# -- building conversations -----------------------------------------------------------------

def _build(conv_id: str, utts: list[dict], meta: dict[str, Any], counterpart: Any = None,
           channel: Any = None) -> Conversation | ConvError:
    if (why := _surrogates(conv_id, utts, meta)) is not None:
        return ConvError(conv_id, why)
    meta = {k: v for k, v in meta.items() if v not in (None, "")}
    if "outcome" in meta:
        meta["outcome"] = norm_outcome(meta["outcome"])
    if not utts and meta.get("outcome") != "unanswered":
        return ConvError(conv_id, "no turns (an attempt without turns needs outcome = unanswered)")
    cp = _COUNTERPART.get(str(counterpart or "").strip().lower(), None)
    if cp is None:
        return ConvError(conv_id, f"unknown counterpart {counterpart!r} (debtor, third_party or unknown)")
    ch = _CHANNEL.get(str(channel or "call").strip().lower())
    if ch is None:
        return ConvError(conv_id, f"unknown channel {channel!r} (call, visit or sms)")
    try:
        return Conversation(id=conv_id, counterpart=cp, channel=ch, utterances=utts, metadata=meta)  # type: ignore[arg-type]
    except Exception as exc:
        return ConvError(conv_id, "invalid conversation: " + str(exc).splitlines()[0])


_SURROGATE = re.compile("[\ud800-\udfff]")


def displayable(text: str) -> str:
    """``text`` with unpaired surrogates shown as U+FFFD (for ids and reasons in a report)."""
    return _SURROGATE.sub("\ufffd", text)


def _surrogates(conv_id: str, utts: list, meta: dict[str, Any]) -> str | None:
    """Why a conversation is refused when some string in it holds an unpaired surrogate.

    The library refuses such text (tonecheck.InputError); a batch reports the
    conversation with this reason and goes on (a JSON "\\ud800" escape decodes to one).
    """
    if _SURROGATE.search(conv_id):
        return "conversation id holds an unpaired UTF-16 surrogate (shown as U+FFFD)"
    for i, u in enumerate(utts):
        text = u.text if isinstance(u, Utterance) else u.get("text", "")
        if isinstance(text, str) and (m := _SURROGATE.search(text)):
            return f"turn {i}: text holds an unpaired UTF-16 surrogate (U+{ord(m.group()):04X}) at index {m.start()}"
    for k, v in meta.items():
        if isinstance(v, str) and _SURROGATE.search(v) or isinstance(k, str) and _SURROGATE.search(k):
            return f"metadata {displayable(str(k))!r} holds an unpaired UTF-16 surrogate"
    return None


def _from_object(obj: Any, default_id: str, speakers: Speakers, unknown: Counter) -> Conversation | ConvError:
    """A conversation object in the core schema (with label mapping and metadata aliases)."""
    if not isinstance(obj, dict):
        return ConvError(default_id, f"expected a conversation object, got {type(obj).__name__}")
    conv_id = str(obj.get("id") or obj.get("conversation_id") or default_id)
    raw = obj.get("utterances", obj.get("turns"))
    if raw is None:
        return ConvError(conv_id, "no 'utterances' list")
    if not isinstance(raw, list):
        return ConvError(conv_id, "'utterances' is not a list")
    utts = []
    for i, u in enumerate(raw):
        if not isinstance(u, dict):
            return ConvError(conv_id, f"turn {i}: expected an object")
        label = u.get("speaker", u.get("role"))
        sp = speakers.map(label) if label is not None else None
        if sp is None:
            unknown[str(label)] += 1
            return ConvError(conv_id, f"turn {i}: unknown speaker label {label!r} (map it in [speakers])")
        text = u.get("text", u.get("content"))
        if not isinstance(text, str):
            return ConvError(conv_id, f"turn {i}: 'text' must be a string")
        d = {k: v for k, v in u.items() if k not in ("speaker", "role", "text", "content")}
        d.update(speaker=sp, text=text)
        for k in ("start", "end"):
            if k in d:
                d[k] = parse_seconds(d[k])
        utts.append(d)
    meta = dict(obj.get("metadata") or {}) if isinstance(obj.get("metadata") or {}, dict) else {}
    for fld in CONV_FIELDS:
        for alias in ALIASES[fld]:
            if alias in obj and fld not in meta:
                meta[fld] = obj[alias]
        for alias in ALIASES[fld]:
            if alias in meta and alias != fld and fld not in meta:
                meta[fld] = meta.pop(alias)
    return _build(conv_id, utts, meta, obj.get("counterpart", "unknown"), obj.get("channel", "call"))


def rows_to_conversations(rows: Iterable[tuple[int, dict[str, Any]]], default_id: str, speakers: Speakers,
                          unknown: Counter, where: str = "row") -> list[Conversation | ConvError]:
    """Utterance rows (canonical keys) grouped by conversation_id, in first-seen order."""
    groups: dict[str, dict[str, Any]] = {}
    for n, row in rows:
        cid = str(row.get("conversation_id") or "").strip() or default_id
        g = groups.setdefault(cid, {"utts": [], "meta": {}, "counterpart": None, "channel": None, "error": None})
        for fld in CONV_FIELDS:
            if row.get(fld) not in (None, "") and fld not in g["meta"]:
                g["meta"][fld] = row[fld]
        for fld in ("counterpart", "channel"):
            if row.get(fld) not in (None, "") and g[fld] is None:
                g[fld] = row[fld]
        text = row.get("text")
        label = row.get("speaker")
        if (text is None or str(text).strip() == "") and (label is None or str(label).strip() == ""):
            continue    # a metadata-only row (e.g. an unanswered attempt)
        if g["error"]:
            continue
        sp = speakers.map(label) if label not in (None, "") else None
        if sp is None:
            unknown[str(label)] += 1
            g["error"] = f"{where} {n}: unknown speaker label {str(label)!r} (map it in [speakers])"
            continue
        u: dict[str, Any] = {"speaker": sp, "text": str(text if text is not None else "")}
        for k in ("start", "end"):
            if row.get(k) not in (None, ""):
                val = parse_seconds(row[k])
                if val is None:
                    g["error"] = f"{where} {n}: bad {k} time {row[k]!r}"
                u[k] = val
        g["utts"].append(u)
    out: list[Conversation | ConvError] = []
    for cid, g in groups.items():
        if g["error"]:
            out.append(ConvError(cid, g["error"]))
        else:
            out.append(_build(cid, g["utts"], g["meta"], g["counterpart"], g["channel"]))
    return out


# -- format readers ---------------------------------------------------------------------------

def read_json(text: str, stem: str, speakers: Speakers, unknown: Counter) -> list[Conversation | ConvError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _FileError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(data, dict) and "conversations" in data and "utterances" not in data:
        data = data["conversations"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise _FileError("empty list: no conversations")
    return [_from_object(obj, f"{stem}#{i}" if len(items) > 1 else stem, speakers, unknown)
            for i, obj in enumerate(items)]


def read_jsonl(text: str, stem: str, speakers: Speakers, unknown: Counter) -> list[Conversation | ConvError]:
    convs: list[Conversation | ConvError] = []
    rows: list[tuple[int, dict[str, Any]]] = []
    order: list[Any] = []      # conversations and a marker where grouped rows go
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            order.append(ConvError(f"{stem}:{n}", f"line {n}: invalid JSON: {exc.msg}"))
            continue
        if isinstance(obj, dict) and ("utterances" in obj or "turns" in obj):
            order.append(_from_object(obj, f"{stem}:{n}", speakers, unknown))
        elif isinstance(obj, dict):
            row = {}
            for fld, names in ALIASES.items():
                for name in names:
                    if name in obj:
                        row[fld] = obj[name]
                        break
            if "text" not in row and "speaker" not in row and not any(f in row for f in CONV_FIELDS):
                order.append(ConvError(f"{stem}:{n}", f"line {n}: neither a conversation nor an utterance row"))
                continue
            if not rows:
                order.append("ROWS")
            rows.append((n, row))
        else:
            order.append(ConvError(f"{stem}:{n}", f"line {n}: expected a JSON object"))
    for item in order:
        if item == "ROWS":
            convs.extend(rows_to_conversations(rows, stem, speakers, unknown, where="line"))
        else:
            convs.append(item)
    if not convs:
        raise _FileError("no JSON lines")
    return convs


def _table_rows(header: list[Any], body: Iterable[tuple[int, list[Any]]], columns: dict[str, str]):
    idx = resolve_header([str(h) if h is not None else "" for h in header], columns)
    missing = [f for f in ("speaker", "text") if f not in idx]
    if missing:
        shown = ", ".join(str(h) for h in header if h not in (None, ""))[:120]
        raise _FileError(f"no {' or '.join(missing)} column in the header (found: {shown}); "
                         "map headers in [columns] of tonecheck.toml")
    for n, cells in body:
        if not any(c not in (None, "") for c in cells):
            continue
        yield n, {fld: (cells[i] if i < len(cells) else None) for fld, i in idx.items()}


def read_csv(text: str, stem: str, speakers: Speakers, unknown: Counter, columns: dict[str, str],
             delimiter: str | None = None) -> list[Conversation | ConvError]:
    first = text.split("\n", 1)[0]
    if delimiter is None:
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise _FileError("empty file") from None
    except csv.Error as exc:
        raise _FileError(f"bad CSV: {exc}") from None
    try:
        body = [(n, row) for n, row in enumerate(reader, 2)]
    except csv.Error as exc:
        raise _FileError(f"bad CSV at line {reader.line_num}: {exc}") from None
    rows = list(_table_rows(header, body, columns))
    if not rows:
        raise _FileError("header but no rows")
    return rows_to_conversations(rows, stem, speakers, unknown)


def read_xlsx(path: Path, stem: str, speakers: Speakers, unknown: Counter,
              columns: dict[str, str]) -> list[Conversation | ConvError]:
    try:
        import openpyxl
    except ImportError:
        raise _FileError("reading .xlsx needs openpyxl: pip install 'tonecheck[excel]'") from None
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise _FileError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    out: list[Conversation | ConvError] = []
    errors = []
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            header = next(it, None)
            if header is None:
                continue
            try:
                rows = list(_table_rows(list(header), ((n, list(r)) for n, r in enumerate(it, 2)), columns))
            except _FileError as exc:
                errors.append(f"sheet {ws.title!r}: {exc}")
                continue
            sheet_stem = stem if len(wb.worksheets) == 1 else f"{stem}:{ws.title}"
            out.extend(rows_to_conversations(rows, sheet_stem, speakers, unknown))
    finally:
        wb.close()
    if not out:
        raise _FileError(errors[0] if errors else "no rows in any sheet")
    return out


# stdlib re: these run once per line of every text transcript, and re matches them faster.
_PREFIX = re.compile(
    r"^\s*(?:\[(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)\]\s*)?"
    r"(?:[\[【(（](?P<blabel>[^\]】)）\s]{1,12})[\]】)）]\s*[:：]?|(?P<label>[^\s:：\[【]{1,12})\s*[:：])\s*(?P<text>.*)$")
_META = re.compile(r"^\s*#\s*(?P<key>[\w\u4e00-\u9fff]+)\s*[:：=]\s*(?P<val>.*?)\s*$")


def _turn_line(line: str, n: int, speakers: Speakers, where: str) -> tuple[str, str, float | None] | None:
    m = _PREFIX.match(line)
    if not m:
        return None
    label = m.group("blabel") or m.group("label")
    sp = speakers.map(label)
    if sp is None:
        raise _Unknown(label, f"{where} {n}")
    return sp, m.group("text").strip(), parse_seconds(m.group("ts")) if m.group("ts") else None


def _header_meta(key: str, val: str, meta: dict[str, Any], conv: dict[str, Any]) -> None:
    k = key.strip().lower()
    for fld in CONV_FIELDS:
        if k in ALIASES[fld]:
            meta[fld] = val
            return
    if k in ALIASES["counterpart"]:
        conv["counterpart"] = val
    elif k in ALIASES["channel"]:
        conv["channel"] = val
    elif k in ALIASES["conversation_id"]:
        conv["id"] = val
    else:
        meta[k] = val


def _unknown_label(u: "_Unknown", conv_id: str, unknown: Counter) -> ConvError:
    """Count the label for the summary and make the conversation an error entry."""
    unknown[u.label] += 1
    return ConvError(conv_id, f"{u.where}: unknown speaker label {u.label!r} (map it in [speakers])")


def read_text(text: str, stem: str, speakers: Speakers, unknown: Counter) -> list[Conversation | ConvError]:
    utts: list[dict[str, Any]] = []
    parts: list[list[str]] = []  # each turn's text pieces (its line and the wrapped lines after it)
    meta: dict[str, Any] = {}
    conv: dict[str, Any] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if not utts and (mm := _META.match(line)):  # header lines come before the first turn
            _header_meta(mm.group("key"), mm.group("val"), meta, conv)
            continue
        try:
            t = _turn_line(line, n, speakers, "line")
        except _Unknown as u:
            return [_unknown_label(u, conv.get("id", stem), unknown)]
        if t is None:
            if utts:       # a wrapped line continues the previous turn
                parts[-1].append(line.strip())
                continue
            return [ConvError(conv.get("id", stem), f"line {n}: no speaker prefix (expected e.g. 坐席：… or 客户：…)")]
        u: dict[str, Any] = {"speaker": t[0], "text": t[1]}
        if t[2] is not None:
            u["start"] = t[2]
        utts.append(u)
        parts.append([t[1]])
    if not utts and not meta:
        raise _FileError("no turns found")
    # Text joined once (adding each wrapped line to it was quadratic); the parser made every field
    # clean (speaker mapped, text a str, start a float), so the turns skip pydantic's validation.
    turns = [Utterance.model_construct(**{**u, "text": "".join(ps)}) for u, ps in zip(utts, parts)]
    return [_build(conv.get("id", stem), turns, meta, conv.get("counterpart", "unknown"), conv.get("channel", "call"))]


_SRT_TIME = regex.compile(
    r"^\s*(?P<a>\d{1,2}:\d{2}:\d{2}(?:[,.]\d{1,3})?)\s*-->\s*(?P<b>\d{1,2}:\d{2}:\d{2}(?:[,.]\d{1,3})?)")


def read_srt(text: str, stem: str, speakers: Speakers, unknown: Counter) -> list[Conversation | ConvError]:
    utts: list[dict[str, Any]] = []
    meta: dict[str, Any] = {}
    conv: dict[str, Any] = {}
    blocks = regex.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    line_no = 1
    for block in blocks:
        lines = block.split("\n")
        start_line = line_no
        line_no += len(lines) + 1
        metas = [_META.match(ln) for ln in lines]
        if all(metas) and not utts:
            for mm in metas:
                _header_meta(mm.group("key"), mm.group("val"), meta, conv)
            continue
        i = 0
        if lines and lines[0].strip().isdigit():
            i = 1
        if i >= len(lines) or not (tm := _SRT_TIME.match(lines[i])):
            return [ConvError(conv.get("id", stem), f"line {start_line}: SRT block without a 00:00:01,000 --> 00:00:02,000 line")]
        body = " ".join(ln.strip() for ln in lines[i + 1:] if ln.strip())
        if not body:
            continue
        try:
            t = _turn_line(body, start_line, speakers, "block at line")
        except _Unknown as u:
            return [_unknown_label(u, conv.get("id", stem), unknown)]
        if t is None:
            return [ConvError(conv.get("id", stem), f"block at line {start_line}: text without a speaker (坐席：…)")]
        utts.append({"speaker": t[0], "text": t[1], "start": parse_seconds(tm.group("a")),
                     "end": parse_seconds(tm.group("b"))})
    if not utts:
        raise _FileError("no subtitle blocks found")
    return [_build(conv.get("id", stem), utts, meta, conv.get("counterpart", "unknown"), conv.get("channel", "call"))]


class _FileError(Exception):
    """Nothing in the file is usable; the message is one line."""


# -- detection and dispatch -------------------------------------------------------------------

_SRT_HEAD = regex.compile(r"^\s*(?:\d+\s*\n)?\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")


def sniff(text: str) -> str:
    """Guess the format of decoded text."""
    s = text.lstrip()
    if s.startswith("{") or regex.match(r"\[\s*[\{\]]", s):     # not "[00:01:23] 坐席：" nor "[坐席]"
        lines = [ln for ln in s.splitlines() if ln.strip()]
        if s.startswith("{") and len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines[:3]):
            try:
                json.loads(lines[0])
                return "jsonl"
            except json.JSONDecodeError:
                pass
        return "json"
    if _SRT_HEAD.match(s):
        return "srt"
    first = s.split("\n", 1)[0].lower()
    for sep, fmt in (("\t", "tsv"), (",", "csv")):
        cells = [c.strip().strip('"') for c in first.split(sep)]
        if len(cells) > 1 and any(c in ALIASES["text"] for c in cells):
            return fmt
    return "text"


def format_for(path: Path, text: str | None = None) -> str | None:
    """Format by extension; None for unknown extensions (content decides)."""
    return EXTENSIONS.get(path.suffix.lower())


def read_path(path: str | Path, *, input_format: str | None = None, speakers: Speakers | None = None,
              columns: dict[str, str] | None = None, data: bytes | None = None, display: str | None = None) -> FileRead:
    """Read one file (or ``data`` if given, e.g. stdin); never raises for bad content."""
    with _gc_paused():
        return _read_path(path, input_format=input_format, speakers=speakers, columns=columns, data=data,
                          display=display)


@contextmanager
def _gc_paused():
    """Parsing makes many small objects and no cycles; the cyclic collector's passes over them
    cost a third of the reading time on a turn-per-line transcript."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_path(path: str | Path, *, input_format: str | None, speakers: Speakers | None,
               columns: dict[str, str] | None, data: bytes | None, display: str | None) -> FileRead:
    p = Path(path)
    shown = display or str(path)
    speakers = speakers or Speakers()
    columns = columns or {}
    out = FileRead(path=shown)
    stem = p.stem if str(path) != "-" else "stdin"
    fmt = input_format or format_for(p)
    try:
        if fmt == "xlsx":
            out.format = "xlsx"
            out.items = read_xlsx(p, stem, speakers, out.unknown_labels, columns)
            return out
        if data is None:
            try:
                if p.stat().st_size > MAX_FILE_BYTES:
                    raise _FileError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
                data = p.read_bytes()
            except OSError as exc:
                raise _FileError(f"cannot read: {exc.strerror or exc}") from None
        if data[:4] == b"PK\x03\x04" and fmt is None:
            out.format = "xlsx"
            out.items = read_xlsx(p, stem, speakers, out.unknown_labels, columns)
            return out
        try:
            text, out.encoding = decode_bytes(data)
        except DecodeError as exc:
            raise _FileError(str(exc)) from None
        if not text.strip():
            raise _FileError("empty file")
        if fmt in (None, "text", "json"):
            sniffed = sniff(text)
            if fmt is None or (fmt == "text" and sniffed in ("srt", "json", "jsonl")) or (fmt == "json" and sniffed == "jsonl"):
                fmt = sniffed
        out.format = fmt
        if fmt == "json":
            out.items = read_json(text, stem, speakers, out.unknown_labels)
        elif fmt == "jsonl":
            out.items = read_jsonl(text, stem, speakers, out.unknown_labels)
        elif fmt in ("csv", "tsv"):
            out.items = read_csv(text, stem, speakers, out.unknown_labels, columns,
                                 delimiter="\t" if fmt == "tsv" else None)
        elif fmt == "srt":
            out.items = read_srt(text, stem, speakers, out.unknown_labels)
        elif fmt == "text":
            out.items = read_text(text, stem, speakers, out.unknown_labels)
        else:
            raise _FileError(f"unknown input format {fmt!r}")
    except _FileError as exc:
        out.error = str(exc)
        out.items = []
    return out
