"""Team configuration: ``tonecheck.toml`` or ``[tool.tonecheck]`` in ``pyproject.toml``.

Every key is checked; an unknown key is an error naming it (a typo must not
silently switch a rule back on). Paths are relative to the config file.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checker import ConfigError
from ..engine import DEFAULT_DEADLINE_S
from ..lexicon import read_toml
from ..readers import AGENT_LABELS, CUSTOMER_LABELS

SEVERITIES = ("high", "medium", "low")
_OFFSET = re.compile(r"^(?:Z|UTC|[+-](?:0\d|1[0-4]):[0-5]\d)$")


@dataclass
class ScoringConfig:
    start: float = 100.0
    deductions: dict[str, float] = field(default_factory=lambda: {"high": 20.0, "medium": 10.0, "low": 5.0})
    rules: dict[str, float] = field(default_factory=dict)          # selector -> deduction per hit
    critical: list[str] = field(default_factory=lambda: [
        "threat.violence", "threat.impersonation", "privacy.credential_request", "conduct.improper_payment",
    ])
    pass_mark: float = 80.0
    per_rule_once: bool = False    # deduct each rule once per conversation instead of per hit


@dataclass
class ContactConfig:
    night_start: str = "22:00"
    night_end: str = "08:00"
    max_unanswered_per_day: int = 6
    night_severity: str = "medium"
    attempts_severity: str = "medium"
    utc_offset: str = "+08:00"     # local time of aware timestamps
    enabled: bool = True


@dataclass
class BatchConfig:
    path: str | None = None
    lexicons: list[str] = field(default_factory=list)
    enable: list[str] | None = None
    disable: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    allow: list[str] = field(default_factory=list)
    agent_labels: list[str] = field(default_factory=lambda: list(AGENT_LABELS))
    customer_labels: list[str] = field(default_factory=lambda: list(CUSTOMER_LABELS))
    columns: dict[str, str] = field(default_factory=dict)          # canonical field -> header name
    fail_on: str | None = None
    deadline_s: float = DEFAULT_DEADLINE_S
    model: bool | str = True                 # False: rules only; a path: other weights
    model_thresholds: dict[str, float] = field(default_factory=dict)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    contact: ContactConfig = field(default_factory=ContactConfig)

    def checker_kwargs(self) -> dict[str, Any]:
        return {"lexicon_dirs": list(self.lexicons), "enable": self.enable, "disable": list(self.disable),
                "severity": dict(self.severity), "allow": list(self.allow), "deadline_s": self.deadline_s,
                "model": self.model, "model_thresholds": dict(self.model_thresholds)}


COLUMN_FIELDS = ("conversation_id", "speaker", "text", "start", "end", "agent_id", "call_start",
                 "contact_id", "outcome", "counterpart", "channel")

_TOP = {"lexicons", "enable", "disable", "severity", "allow", "speakers", "columns", "fail_on", "scoring",
        "contact", "deadline_ms", "model"}
_MODEL = {"enabled", "path", "thresholds"}
_MODEL_CATEGORIES = ("threat", "insult", "sarcasm", "privacy", "conduct", "risk")
_SPEAKERS = {"agent", "customer"}
_SCORING = {"start", "deductions", "rules", "critical", "pass_mark", "per_rule_once"}
_CONTACT = {"night_start", "night_end", "max_unanswered_per_day", "night_severity", "attempts_severity",
            "utc_offset", "enabled"}


def find_config(cwd: str | Path = ".") -> Path | None:
    """tonecheck.toml, else a pyproject.toml with [tool.tonecheck], in ``cwd``."""
    cwd = Path(cwd)
    p = cwd / "tonecheck.toml"
    if p.is_file():
        return p
    pp = cwd / "pyproject.toml"
    if pp.is_file():
        try:
            data = tomllib.loads(pp.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError):
            return None
        if "tonecheck" in data.get("tool", {}):
            return pp
    return None


def load_config(path: str | Path | None = None, *, search: bool = True) -> BatchConfig:
    """Load ``path`` (or the one found in the current directory); defaults when there is none."""
    if path is None:
        found = find_config() if search else None
        if found is None:
            return BatchConfig()
        path = found
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{path}: config file not found")
    data = read_toml(p, ConfigError)
    if p.name == "pyproject.toml":
        data = data.get("tool", {}).get("tonecheck")
        if data is None:
            raise ConfigError(f"{path}: no [tool.tonecheck] table")
        prefix = "tool.tonecheck."
    else:
        prefix = ""
    return parse_config(data, str(p), prefix=prefix)


def parse_config(data: dict[str, Any], source: str = "<config>", prefix: str = "") -> BatchConfig:
    base = Path(source).parent if source != "<config>" else Path(".")

    def err(key: str, msg: str) -> ConfigError:
        return ConfigError(f"{source}: {prefix}{key}: {msg}")

    def unknown(table: dict, allowed: set[str], where: str = "") -> None:
        for k in table:
            if k not in allowed:
                raise ConfigError(f"{source}: unknown key '{prefix}{where}{k}' (known: {', '.join(sorted(allowed))})")

    def strlist(key: str, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise err(key, "expected a list of strings")
        return list(v)

    def sev(key: str, v: Any) -> str:
        if v not in SEVERITIES:
            raise err(key, f"expected one of {', '.join(SEVERITIES)}, not {v!r}")
        return v

    def num(key: str, v: Any, lo: float = 0.0) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise err(key, f"expected a number, not {v!r}")
        if v < lo:
            raise err(key, f"expected a number of at least {lo:g}, not {v!r}")
        return float(v)

    def table(key: str, v: Any) -> dict:
        if not isinstance(v, dict):
            raise err(key, "expected a table")
        return v

    unknown(data, _TOP)
    cfg = BatchConfig(path=source)
    if "lexicons" in data:
        dirs = []
        for d in strlist("lexicons", data["lexicons"]):
            p = Path(d) if Path(d).is_absolute() else base / d
            if not p.is_dir():
                raise err("lexicons", f"lexicon directory {d!r} not found")
            dirs.append(str(p))
        cfg.lexicons = dirs
    if "enable" in data:
        cfg.enable = strlist("enable", data["enable"])
    if "disable" in data:
        cfg.disable = strlist("disable", data["disable"])
    if "allow" in data:
        cfg.allow = strlist("allow", data["allow"])
    if "severity" in data:
        cfg.severity = {k: sev(f"severity.{k}", v) for k, v in table("severity", data["severity"]).items()}
    if "fail_on" in data:
        cfg.fail_on = sev("fail_on", data["fail_on"])
    if "deadline_ms" in data:
        ms = num("deadline_ms", data["deadline_ms"], lo=1.0)
        cfg.deadline_s = ms / 1000.0
    if "model" in data:
        md = table("model", data["model"])
        unknown(md, _MODEL, "model.")
        if "enabled" in md:
            if not isinstance(md["enabled"], bool):
                raise err("model.enabled", "expected true or false")
            cfg.model = md["enabled"]
        if "path" in md:
            if not isinstance(md["path"], str):
                raise err("model.path", "expected a path to a weights file")
            mp = Path(md["path"]) if Path(md["path"]).is_absolute() else base / md["path"]
            if not mp.is_file():
                raise err("model.path", f"weights file {md['path']!r} not found")
            if cfg.model is not False:
                cfg.model = str(mp)
        if "thresholds" in md:
            th = table("model.thresholds", md["thresholds"])
            unknown(th, set(_MODEL_CATEGORIES), "model.thresholds.")
            for k, v in th.items():
                t = num(f"model.thresholds.{k}", v)
                if not 0 < t <= 1:
                    raise err(f"model.thresholds.{k}", f"expected a probability in (0, 1], not {v!r}")
                cfg.model_thresholds[k] = t
    if "speakers" in data:
        sp = table("speakers", data["speakers"])
        unknown(sp, _SPEAKERS, "speakers.")
        if "agent" in sp:
            cfg.agent_labels = strlist("speakers.agent", sp["agent"])
        if "customer" in sp:
            cfg.customer_labels = strlist("speakers.customer", sp["customer"])
        both = {x.lower() for x in cfg.agent_labels} & {x.lower() for x in cfg.customer_labels}
        if both:
            raise err("speakers", f"label(s) {', '.join(sorted(both))} listed for both agent and customer")
    if "columns" in data:
        cols = table("columns", data["columns"])
        unknown(cols, set(COLUMN_FIELDS), "columns.")
        for k, v in cols.items():
            if not isinstance(v, str):
                raise err(f"columns.{k}", "expected a header name (string)")
        cfg.columns = dict(cols)
    if "scoring" in data:
        sc = table("scoring", data["scoring"])
        unknown(sc, _SCORING, "scoring.")
        s = cfg.scoring
        if "start" in sc:
            s.start = num("scoring.start", sc["start"])
        if "pass_mark" in sc:
            s.pass_mark = num("scoring.pass_mark", sc["pass_mark"])
            if s.pass_mark > s.start:
                raise err("scoring.pass_mark", f"{s.pass_mark:g} is above scoring.start ({s.start:g})")
        if "deductions" in sc:
            d = table("scoring.deductions", sc["deductions"])
            unknown(d, set(SEVERITIES), "scoring.deductions.")
            s.deductions.update({k: num(f"scoring.deductions.{k}", v) for k, v in d.items()})
        if "rules" in sc:
            s.rules = {k: num(f"scoring.rules.{k}", v) for k, v in table("scoring.rules", sc["rules"]).items()}
        if "critical" in sc:
            s.critical = strlist("scoring.critical", sc["critical"])
        if "per_rule_once" in sc:
            if not isinstance(sc["per_rule_once"], bool):
                raise err("scoring.per_rule_once", "expected true or false")
            s.per_rule_once = sc["per_rule_once"]
    if "contact" in data:
        ct = table("contact", data["contact"])
        unknown(ct, _CONTACT, "contact.")
        c = cfg.contact
        for k in ("night_start", "night_end"):
            if k in ct:
                v = ct[k]
                if not isinstance(v, str) or not _valid_hhmm(v):
                    raise err(f"contact.{k}", f"expected a time like \"22:00\", not {v!r}")
                setattr(c, k, v)
        if "max_unanswered_per_day" in ct:
            v = ct["max_unanswered_per_day"]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise err("contact.max_unanswered_per_day", f"expected a non-negative integer, not {v!r}")
            c.max_unanswered_per_day = v
        for k in ("night_severity", "attempts_severity"):
            if k in ct:
                setattr(c, k, sev(f"contact.{k}", ct[k]))
        if "utc_offset" in ct:
            v = ct["utc_offset"]
            if not isinstance(v, str) or not _OFFSET.match(v.strip()):
                raise err("contact.utc_offset", f"expected a string offset like \"+08:00\", not {v!r}")
            c.utc_offset = v.strip()
        if "enabled" in ct:
            if not isinstance(ct["enabled"], bool):
                raise err("contact.enabled", "expected true or false")
            c.enabled = ct["enabled"]
    return cfg


def _valid_hhmm(v: str) -> bool:
    parts = v.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return False
    h, m = int(parts[0]), int(parts[1])
    return 0 <= h <= 24 and 0 <= m < 60
