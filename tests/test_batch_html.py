"""The HTML report: self-contained, escaped, and rendered by a real browser (headless Chromium)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tonecheck.cli import main

FIX = Path(__file__).parent / "fixtures" / "batch"
LEX = FIX / "lexicon"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture
def report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    nasty = tmp_path / "nasty.json"
    nasty.write_text(json.dumps({"id": "<b>X</b>", "utterances": [
        {"speaker": "agent", "text": "<script>alert(1)</script>你这个窝囊废"}]}, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report.html"
    code = main(["check", str(FIX / "mixed"), str(FIX / "bad" / "truncated.json"), str(nasty),
                 "--lexicon", str(LEX), "-o", str(out), "-q"])
    capsys.readouterr()
    assert code == 1
    return out


def test_html_is_self_contained_and_escaped(report):
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "no network resources"
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "&lt;b&gt;X&lt;/b&gt;" in html
    # summary, charts, table, details, highlights, suggestions, errors
    assert html.count("<svg") >= 3 and 'id="convs"' in html and 'class="sortable"' in html
    assert '<mark class="m-high"' in html and "整句改写" in html and "truncated.json" in html
    assert html.count('<details class="conv"') == 10


@pytest.mark.skipif(BROWSER is None, reason="chromium not installed (apt-get install -y chromium); "
                    "tools/screenshot_report.sh renders a report by hand")
def test_html_renders_in_headless_chromium(report, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'prof'}"]
    url = report.resolve().as_uri()
    dom = subprocess.run([BROWSER, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=60).stdout
    # the script ran: the filter counter is filled in and the table is intact
    assert re.search(r'id="count">10 / 10<', dom), dom[:500]
    png = tmp_path / "shot.png"
    subprocess.run([BROWSER, *flags, f"--screenshot={png}", "--window-size=1400,2000", url],
                   capture_output=True, timeout=60)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1400, 2000) and len(data) > 50_000     # a page with content, not a blank one
