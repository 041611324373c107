"""Chinese names for everything a person reads, and the order findings are shown in.

One table for the batch reports, the web page and the CLI: subtype names come
from the lexicons (``[subtype."x.y"] name = …`` in ``lexicons/subtypes.toml``,
``Checker.lexicon.subtypes``); categories, the three severity words, statuses,
outcomes and error kinds live here. The HTML report embeds :func:`table` in
its data; the service embeds it in the page it serves.

Order: the library's ``CheckResult.findings`` stay sorted by position (offsets,
documented API). Everything rendered for a person — CLI text, every batch report
format, the web page — lists violations first, most severe first, then by
position; customer risk signals (never violations) follow, in the same order.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

CATEGORIES = {"threat": "威胁恐吓", "insult": "侮辱谩骂", "sarcasm": "讽刺挖苦", "privacy": "隐私泄露",
              "conduct": "违规操作", "contact": "联系时段与频次", "risk": "客户风险信号"}
# The one set of severity words; a customer risk signal is not a violation and gets its own word.
SEVERITIES = {"high": "严重", "medium": "中等", "low": "轻微"}
RISK_SIGNAL = "风险提示"
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
# Statuses of files and calls in a batch report (runner.py), and of a call attempt.
FILE_STATUSES = {"ok": "已检查", "error": "读取错误", "skipped": "已跳过（非对话文件）",
                 "config": "配置或词库文件（未作为对话读取）", "not_processed": "未处理（运行中断）"}
CALL_STATUSES = {"ok": "正常", "error": "读取错误"}
OUTCOMES = {"answered": "接通", "unanswered": "未接通"}
SPEAKERS = {"agent": "坐席", "customer": "客户"}
COUNTERPARTS = {"debtor": "债务人本人", "third_party": "第三方", "unknown": "尚未核实身份"}
CHANNELS = {"call": "电话", "visit": "外访", "sms": "短信"}
REVIEW = {"unreviewed": "待复核", "confirmed": "复核：确认违规", "rejected": "复核：误报", "unsure": "复核：不确定"}
# The service's error codes ({"error": {"code", "message"}}), as the page names them.
API_ERRORS = {"unauthorized": "需要访问密钥", "body_timeout": "请求发送超时", "body_too_large": "请求过大",
              "text_too_long": "文本过长", "too_many_utterances": "对话轮数过多", "unsupported_media_type": "请求格式不是 JSON",
              "invalid_input": "输入无效", "invalid_request": "请求无效", "internal_error": "服务内部错误",
              "overloaded": "服务繁忙", "timeout": "检查超时", "not_found": "地址不存在",
              "method_not_allowed": "请求方法不允许", "http_error": "请求错误"}

# Error kinds: the first pattern that matches a (one-line, English) error names its kind in Chinese.
# The message itself is always shown next to the name: it says which line, column or label.
ERRORS: tuple[tuple[str, str], ...] = (
    (r"^interrupted", "运行中断，未处理"),
    (r"^internal error|^worker failed", "内部错误"),
    (r"^no conversation could be read", "文件中的会话都无法读取"),
    (r"^part of the file", "文件部分内容无法读取"),
    (r"^no such file|^not a regular file|^cannot read", "无法打开文件"),
    (r"^empty directory", "空目录"),
    (r"^file larger than", "文件过大"),
    (r"encoding|BOM|Shift-JIS", "编码无法识别"),
    (r"^binary data", "二进制文件，不是文字记录"),
    (r"invalid JSON|no JSON lines|neither a conversation nor an utterance|expected a JSON object", "JSON 格式错误"),
    (r"^bad CSV|column in the header|header but no rows", "表格格式错误"),
    (r"xlsx", "Excel 文件无法读取"),
    (r"SRT block|subtitle", "字幕格式错误"),
    (r"unknown speaker label", "未知的说话人标签"),
    (r"no speaker prefix|without a speaker", "缺少说话人"),
    (r"^empty file|^empty list|^no turns", "没有对话内容"),
    (r"longer than|characters; the limit", "文本过长"),
    (r"unknown counterpart|unknown channel|invalid conversation|expected a conversation|'utterances'|"
     r"expected an object|'text' must|unknown input format", "会话字段无效"),
    (r"not a transcript file extension", "不是对话记录文件"),
    (r"config or lexicon file", "配置或词库文件"),
    (r"call_start .* is not a date-time", "通话时间无法解析"),
)
OTHER_ERROR = "其他错误"
_ERROR_RES = tuple((re.compile(p, re.IGNORECASE), name) for p, name in ERRORS)


def error_kind(message: str | None) -> str:
    """The Chinese name of an error's kind (the message is shown beside it)."""
    for rx, name in _ERROR_RES:
        if rx.search(message or ""):
            return name
    return OTHER_ERROR


@lru_cache(maxsize=1)
def _bundled_subtype_names() -> dict[str, str]:
    from .lexicon import bundled_dir, load_lexicons

    return {k: v.name for k, v in load_lexicons([bundled_dir() / "subtypes.toml"], include_bundled=False)
            .subtypes.items()}


def subtype_names(lexicon: Any = None) -> dict[str, str]:
    """Subtype → Chinese name, from a loaded lexicon (a team's may rename) or the bundled table."""
    if lexicon is not None and getattr(lexicon, "subtypes", None):
        return {k: v.name for k, v in lexicon.subtypes.items()}
    return dict(_bundled_subtype_names())


def table(lexicon: Any = None) -> dict[str, Any]:
    """Every name a reader sees, as one JSON-ready table (the report and the page embed it)."""
    return {"subtypes": subtype_names(lexicon), "categories": dict(CATEGORIES), "severities": dict(SEVERITIES),
            "risk_signal": RISK_SIGNAL, "file_statuses": dict(FILE_STATUSES), "call_statuses": dict(CALL_STATUSES),
            "outcomes": dict(OUTCOMES), "speakers": dict(SPEAKERS), "counterparts": dict(COUNTERPARTS),
            "channels": dict(CHANNELS), "review": dict(REVIEW), "api_errors": dict(API_ERRORS)}


def _get(f: Any, key: str) -> Any:
    v = f.get(key) if isinstance(f, Mapping) else getattr(f, key)
    return getattr(v, "value", v)


def finding_order(f: Any, turn: int | None = None) -> tuple:
    """Sort key for showing findings (a Finding or a report's finding dict): violations before
    risk signals, then severity (most severe first), then position (turn, start, end)."""
    t = _get(f, "turn") if isinstance(f, Mapping) and "turn" in f else turn
    return (_get(f, "category") == "risk", -SEVERITY_RANK.get(_get(f, "severity"), 0),
            -1 if t is None else t, _get(f, "start"), _get(f, "end"), _get(f, "rule_id"))


def in_display_order(findings: list[Any]) -> list[Any]:
    return sorted(findings, key=finding_order)


def severity_word(f: Any) -> str:
    """严重 / 中等 / 轻微, or 风险提示 for a customer risk signal."""
    return RISK_SIGNAL if _get(f, "category") == "risk" else SEVERITIES.get(_get(f, "severity"), _get(f, "severity"))
