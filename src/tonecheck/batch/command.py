"""``tonecheck check``: the batch front end (options, progress bar, output, exit code).

Exit codes: 0 no violation at or above --fail-on (risk signals never count;
contact-policy findings do); 1 at least one; 2 usage error, bad config, or
every input failed (nothing could be checked) — a batch where only some files
fail exits on its findings and lists the bad files in the summary; 130 when
interrupted (a valid partial report is still written, marked ``partial``).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..models import Severity
from .config import BatchConfig, ConfigError, load_config
from .readers import FORMATS as INPUT_FORMATS
from .report import FORMATS, render_summary, write_csv, write_html, write_json, write_jsonl, write_text, write_xlsx
from .runner import RunOptions, run_batch

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
_EXT_FORMAT = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".html": "html", ".htm": "html",
               ".xlsx": "xlsx", ".txt": "text"}


class UsageError(Exception):
    """Printed as one line; exit code 2."""


def output_format(output: str | None) -> str:
    """The report format ``-o FILE`` asks for by its extension (text on stdout); an extension we do
    not write is an error, never a silent JSON file with the wrong name."""
    if not output:
        return "text"
    ext = Path(output).suffix.lower()
    if ext not in _EXT_FORMAT:
        known = " ".join(sorted(_EXT_FORMAT))
        what = f"unknown report extension {ext!r}" if ext else "no extension"
        raise UsageError(f"-o {output}: {what}; use one of {known}, "
                         "or name the format with --format")
    return _EXT_FORMAT[ext]


def add_check_arguments(c: argparse.ArgumentParser) -> None:
    c.add_argument("-o", "--output", metavar="OUT", help="write the report here (default: stdout); "
                   "the format follows the extension unless --format is given")
    c.add_argument("--format", choices=FORMATS, default=None,
                   help="text (default on stdout), json, jsonl, csv (one row per finding), html, xlsx")
    c.add_argument("--jobs", "-j", type=int, default=0, metavar="N", help="worker processes (default: CPU cores)")
    c.add_argument("--input-format", choices=INPUT_FORMATS, default=None,
                   help="read every input as this format (default: by extension and content)")
    c.add_argument("--config", metavar="FILE", help="config file (default: ./tonecheck.toml or [tool.tonecheck] "
                   "in ./pyproject.toml)")
    c.add_argument("--no-config", action="store_true", help="ignore config files in the current directory")
    c.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    c.add_argument("--store", metavar="URL", help="also keep the run in a results store for review: a file "
                   "(qa.db, SQLite) or postgresql://user@host/db (needs tonecheck[store]; see docs/review.md)")


def config_from_args(args: argparse.Namespace) -> BatchConfig:
    try:
        if getattr(args, "no_config", False):
            cfg = BatchConfig()
        else:
            cfg = load_config(getattr(args, "config", None))
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    extra = list(getattr(args, "lexicon", []) or [])
    for d in extra:
        if not Path(d).is_dir():
            raise UsageError(f"--lexicon {d}: not a directory")
    cfg.lexicons = list(cfg.lexicons) + [str(Path(d)) for d in extra]
    if getattr(args, "no_model", False):
        cfg.model = False
    return cfg


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, stream, enabled: bool) -> None:
        self.stream, self.enabled, self.last = stream, enabled, 0.0

    def __call__(self, st: dict[str, Any]) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        total, done = st["files_total"], st["files_done"]
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        frac = done / total if total else 1.0
        bar = "█" * int(24 * frac) + "░" * (24 - int(24 * frac))
        rate = st["conversations"] / st["elapsed"] if st["elapsed"] > 0 else 0.0
        self.stream.write(f"\r{bar} {done}/{total} files  {st['conversations']} conv  {rate:,.0f} conv/s"
                          f"  errors {st['errors']}   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()


def _threshold(args: argparse.Namespace, cfg: BatchConfig) -> int:
    return Severity(args.fail_on or cfg.fail_on or "low").rank


def write_report(report: dict[str, Any], fmt: str, output: str | None) -> None:
    if fmt == "xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise UsageError("--format xlsx needs openpyxl: pip install 'tonecheck[excel]'") from None
        if not output:
            raise UsageError("--format xlsx needs -o FILE.xlsx")
    writer = {"text": write_text, "json": write_json, "jsonl": write_jsonl, "csv": write_csv, "html": write_html}.get(fmt)
    if output is None:
        writer(report, sys.stdout)
        sys.stdout.flush()
        return
    out = Path(output)
    if out.parent and not out.parent.exists():
        raise UsageError(f"-o {output}: directory {out.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".tonecheck-", suffix=out.suffix, dir=str(out.parent or "."))
    os.close(fd)
    try:
        if fmt == "xlsx":
            write_xlsx(report, tmp)
        else:
            # csv gets a BOM so Excel opens Chinese text correctly
            with open(tmp, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as fh:
                writer(report, fh)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)          # mkstemp makes 0600; a report gets the usual permissions
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _first_interrupt(signum: int, frame: Any) -> None:
    """The first Ctrl-C stops the run; every later one is ignored until the partial report is written.

    A second Ctrl-C a moment after the first used to land while the partial
    report was being assembled and lose it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _open_store(args: argparse.Namespace) -> Any:
    """The results store hook (tonecheck.store): the run is recorded, incomplete, before checking."""
    if not getattr(args, "store", None):
        return None
    try:
        from ..store.runs import Recorder
        from ..store.db import StoreError
    except ImportError as exc:
        raise UsageError(f"--store needs extra packages: pip install 'tonecheck[store]' ({exc.name} missing)") from None
    try:
        return Recorder.start(args.store, list(args.paths), masked=not args.show_pii)
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def _finish_store(recorder: Any, report: dict[str, Any], quiet: bool) -> str | None:
    """Store the run (annotating each finding with its hit id and review status); an error is returned,
    not raised, so the report is still written."""
    from ..store.db import StoreError

    try:
        line = recorder.finish(report)
    except StoreError as exc:
        return str(exc)
    except Exception as exc:  # a bug in the store must not cost the user the report
        return f"--store: internal error ({type(exc).__name__}); the run is left incomplete"
    if not quiet:
        print(line, file=sys.stderr)
    return None


def cmd_check(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    fmt = args.format or output_format(args.output)
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (all cores) or a positive number")
    if fmt == "xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise UsageError("--format xlsx needs openpyxl: pip install 'tonecheck[excel]'") from None
        if not args.output:
            raise UsageError("--format xlsx needs -o FILE.xlsx")
    stdin_data = None
    if "-" in args.paths:
        buf = getattr(sys.stdin, "buffer", None)
        stdin_data = buf.read() if buf is not None else sys.stdin.read().encode("utf-8")
    recorder = _open_store(args)
    progress = Progress(sys.stderr, enabled=not args.quiet and sys.stderr.isatty())
    opts = RunOptions(config=cfg, input_format=args.input_format, jobs=args.jobs, show_pii=args.show_pii,
                      progress=progress)
    old = signal.signal(signal.SIGINT, _first_interrupt)
    store_error = None
    try:
        report = run_batch(args.paths, opts, stdin_data=stdin_data)
        progress.close()
        signal.signal(signal.SIGINT, signal.SIG_IGN)   # the report is written whole, even on a late Ctrl-C
        if recorder is not None:
            store_error = _finish_store(recorder, report, args.quiet)
        write_report(report, fmt, args.output)
    finally:
        signal.signal(signal.SIGINT, old)
    if store_error:
        raise UsageError(store_error)
    s = report["summary"]
    if report["partial"]:
        if not args.quiet:
            print(render_summary(report), file=sys.stderr)
        print("tonecheck: interrupted; the report is partial", file=sys.stderr)
        return EXIT_INTERRUPTED
    if s["conversations"]["ok"] == 0 and not any(r["status"] == "ok" for r in report["conversations"]):
        errs = s["errors"]
        if errs:
            first = "; ".join(f"{e['file']}{' :: ' + e['conversation'] if e['conversation'] else ''}: {e['error']}"
                              for e in errs[:3])
            more = f" (and {len(errs) - 3} more)" if len(errs) > 3 else ""
            raise UsageError(f"every input failed: {first}{more}" if len(errs) > 1 else first)
        raise UsageError("no transcripts found in " + ", ".join(args.paths))
    if not args.quiet:
        print(render_summary(report), file=sys.stderr)
    threshold = _threshold(args, cfg)
    for r in report["conversations"]:
        for f in r["findings"]:
            if f["category"] != "risk" and Severity(f["severity"]).rank >= threshold:
                return EXIT_VIOLATION
    return EXIT_OK
