"""Report writers: text, json, jsonl, csv, html, xlsx.

Each takes the report dict from :func:`tonecheck.batch.runner.run_batch`
(already masked unless --show-pii) and writes it to a path or stream.
"""
from __future__ import annotations

from .tabular import finding_rows, write_csv, write_xlsx
from .textual import render_summary, write_json, write_jsonl, write_text
from .htmlreport import render_html, write_html

FORMATS = ("text", "json", "jsonl", "csv", "html", "xlsx")

__all__ = ["FORMATS", "finding_rows", "write_csv", "write_xlsx", "render_summary", "write_json", "write_jsonl",
           "write_text", "render_html", "write_html"]
