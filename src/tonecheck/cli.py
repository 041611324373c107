"""Command line: ``tonecheck check|draft|rules|schema|serve|stats|feedback|users|runs``.

Exit codes: 0 no violation at or above --fail-on, 1 there is one, 2 usage or
input error (one line on stderr naming the file and the problem).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .checker import Checker, ConfigError, InputError
from .labels import in_display_order, severity_word, subtype_names
from .lexicon import LexiconError
from .models import CheckResult, ConversationResult, Finding, Severity
from .pii import mask_result
from .readers import ReadError

EXIT_OK, EXIT_VIOLATION, EXIT_ERROR = 0, 1, 2


class CliError(Exception):
    """A usage or input problem: printed as one line, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        return args.func(args)
    except (CliError, ConfigError, InputError, LexiconError, ReadError) as exc:
        print(f"tonecheck: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("tonecheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _setting_args(sp: argparse.ArgumentParser) -> None:
    """Role, listener and channel, with the library's and the HTTP API's defaults."""
    sp.add_argument("--role", choices=["agent", "customer"], default="agent")
    sp.add_argument("--counterpart", choices=["debtor", "third_party", "unknown"], default="unknown",
                    help="who listens (default: unknown, as in the library and the HTTP API)")
    sp.add_argument("--channel", choices=["call", "visit", "sms"], default="call")


def _config_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--config", metavar="FILE", help="config file (default: ./tonecheck.toml or pyproject.toml)")
    sp.add_argument("--no-config", action="store_true", help="ignore config files in the current directory")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tonecheck", description="催收对话合规检查 / compliance checks for collection conversations")
    p.add_argument("--version", action="version", version=f"tonecheck {__version__}")
    sub = p.add_subparsers(dest="command")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--lexicon", action="append", default=[], metavar="DIR", help="extra lexicon directory (repeatable)")
        sp.add_argument("--fail-on", choices=["low", "medium", "high"], default="low",
                        help="exit 1 when a violation at or above this severity is found (default: low)")
        sp.add_argument("--show-pii", action="store_true", help="print identifiers unmasked (default: masked)")
        sp.add_argument("--no-model", action="store_true",
                        help="rules only: leave the trained model out (default: rules and model)")

    c = sub.add_parser("check", help="check transcripts (JSON, JSONL, CSV/TSV, text, SRT, xlsx; files or directories; - for stdin)")
    c.add_argument("paths", nargs="+", metavar="PATH")
    from .batch.command import add_check_arguments

    add_check_arguments(c)
    common(c)
    c.set_defaults(func=cmd_check, fail_on=None)

    d = sub.add_parser("draft", help="check one message draft and print the rewrite")
    d.add_argument("text", nargs="?", help="the draft (default: read stdin)")
    _setting_args(d)
    d.add_argument("--format", choices=["text", "json"], default="text")
    common(d)
    _config_args(d)
    d.set_defaults(func=cmd_draft)

    e = sub.add_parser("explain", help="why a text is (or is not) flagged: the rules' and the model's evidence")
    e.add_argument("text", nargs="?", help="the text (default: read stdin)")
    _setting_args(e)
    e.add_argument("--lexicon", action="append", default=[], metavar="DIR", help="extra lexicon directory (repeatable)")
    e.add_argument("--show-pii", action="store_true", help="print identifiers unmasked (default: masked)")
    _config_args(e)
    e.set_defaults(func=cmd_explain, no_model=False)

    s = sub.add_parser("schema", help="print the JSON Schema of the results")
    s.set_defaults(func=cmd_schema)

    r = sub.add_parser("rules", help="list, show or test rules")
    rsub = r.add_subparsers(dest="rules_command")
    rl = rsub.add_parser("list", help="id, subtype, severity, source file")
    rl.add_argument("--lexicon", action="append", default=[], metavar="DIR")
    rl.set_defaults(func=cmd_rules_list)
    rs = rsub.add_parser("show", help="one rule's description and examples")
    rs.add_argument("rule_id")
    rs.add_argument("--lexicon", action="append", default=[], metavar="DIR")
    rs.set_defaults(func=cmd_rules_show)
    rt = rsub.add_parser("test", help="validate lexicon files and run their examples")
    rt.add_argument("dirs", nargs="*", metavar="DIR",
                    help="lexicon directories (default: the config's lexicons, else the bundled ones)")
    rt.set_defaults(func=cmd_rules_test)
    rn = rsub.add_parser("lint", help="check lexicon files for what a reviewer would catch (docs/lexicon-format.md)")
    rn.add_argument("dirs", nargs="*", metavar="DIR", help="lexicon directories (default: the bundled ones)")
    rn.add_argument("--strict", action="store_true", help="warnings (long patterns) fail too")
    rn.set_defaults(func=cmd_rules_lint)
    for sp in (rl, rs, rt):
        _config_args(sp)

    sv = sub.add_parser("serve", help="run the HTTP service (needs tonecheck[server])")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1)
    sv.add_argument("--store", metavar="URL", default=None,
                    help="results store: adds the review page /review and its API (see docs/review.md)")
    sv.set_defaults(func=cmd_serve)

    from .store.commands import add_store_commands   # stats, feedback, users, runs (lazy imports inside)

    add_store_commands(sub)
    return p


# -- check ------------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    """The batch QA run: see :mod:`tonecheck.batch.command`."""
    from .batch.command import UsageError, cmd_check as batch_check

    try:
        return batch_check(args)
    except UsageError as exc:
        raise CliError(str(exc)) from None


# -- draft ------------------------------------------------------------------------------------

def _configured_checker(args: argparse.Namespace) -> Checker:
    """The checker ``check`` would use: the config file (tonecheck.toml / [tool.tonecheck]), --lexicon, --no-model."""
    from .batch.command import UsageError, config_from_args
    from .batch.runner import build_checker

    try:
        cfg = config_from_args(args)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    if getattr(args, "no_model", False):
        cfg.model = False
    return build_checker(cfg)


def cmd_draft(args: argparse.Namespace) -> int:
    text = args.text if args.text is not None else sys.stdin.read().strip()
    if not text:
        raise CliError("draft: empty text")
    checker = _configured_checker(args)
    res = checker.check(text, role=args.role, counterpart=args.counterpart, channel=args.channel)
    if not args.show_pii:
        res = mask_result(res)
    if args.format == "json":
        print(res.model_dump_json(indent=2))
    else:
        print(render_result(res, subtype_names(checker.lexicon)))
        print(f"建议改写：{res.rewrite}" if res.violations else "未发现违规。")
    threshold = Severity(args.fail_on).rank
    return EXIT_VIOLATION if any(f.severity.rank >= threshold for f in res.violations) else EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Both detectors' evidence for one text: what each rule and the model saw, above and below threshold."""
    from .explain import explain

    text = args.text if args.text is not None else sys.stdin.read().strip()
    if not text:
        raise CliError("explain: empty text")
    checker = _configured_checker(args)
    print(explain(checker, text, role=args.role, counterpart=args.counterpart, channel=args.channel,
                  show_pii=args.show_pii))
    return EXIT_OK


# -- rendering --------------------------------------------------------------------------------

def _mark(text: str, findings: list[Finding]) -> str:
    out, pos = [], 0
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.start < pos:
            continue
        out.append(text[pos:f.start])
        out.append(f"【{text[f.start:f.end]}】")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def render_result(res: CheckResult, names: dict[str, str] | None = None, prefix: str = "") -> str:
    """A draft's findings for a terminal: most severe first, then by position; Chinese names and codes."""
    names = names if names is not None else subtype_names()
    lines = [f"{prefix}{_mark(res.text, res.findings)}"]
    for f in in_display_order(res.findings):
        lines.append(f"    - [{severity_word(f)}] {names.get(f.subtype, f.subtype)} {f.subtype} {f.rule_id}"
                     f"「{f.text}」：{f.message}")
        if f.suggestion and f.is_violation:
            lines.append(f"      建议：{f.suggestion}")
    return "\n".join(lines)


# -- schema, rules, serve ---------------------------------------------------------------------

def cmd_schema(args: argparse.Namespace) -> int:
    schema = {
        "CheckResult": CheckResult.model_json_schema(),
        "ConversationResult": ConversationResult.model_json_schema(),
    }
    print(json.dumps(schema, ensure_ascii=False, indent=2))
    return EXIT_OK


def _rules_checker(args: argparse.Namespace):
    """The checker the config file describes (lexicons, enable/disable, severities, allow-list)."""
    from .batch.command import UsageError, config_from_args
    from .batch.runner import build_checker

    try:
        cfg = config_from_args(args)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    return build_checker(cfg), cfg


def cmd_rules_list(args: argparse.Namespace) -> int:
    from .batch.contact import contact_rules

    checker, cfg = _rules_checker(args)
    for r in checker.rules:
        src = Path(checker.lexicon.sources[r.id]).name
        print(f"{r.id}\t{r.subtype}\t{r.severity.value}\t{src}")
    for r in contact_rules(cfg):
        print(f"{r['id']}\t{r['subtype']}\t{r['severity']}\t(contact policy)")
    return EXIT_OK


def cmd_rules_show(args: argparse.Namespace) -> int:
    from .batch.contact import contact_rules

    checker, cfg = _rules_checker(args)
    rule = next((r for r in checker.rules if r.id == args.rule_id), None)
    if rule is None:
        cr = next((r for r in contact_rules(cfg) if r["id"] == args.rule_id), None)
        if cr is not None:
            print(f"{cr['id']}  {cr['subtype']}  {cr['severity']}  (contact policy, from call metadata)")
            print(f"说明：{cr['message']}")
            print(f"依据：{cr['source']}")
            return EXIT_OK
        if any(r.id == args.rule_id for r in checker.lexicon.rules):
            raise CliError(f"rule {args.rule_id!r} is disabled by the configuration")
        raise CliError(f"no rule with id {args.rule_id!r}")
    print(f"{rule.id}  {rule.subtype}  {rule.severity.value}  ({checker.lexicon.sources[rule.id]})")
    if rule.name:
        print(f"名称：{rule.name}")
    print(f"说明：{rule.message}")
    if rule.description:
        print(rule.description)
    if rule.source:
        print(f"依据：{rule.source}")
    if rule.rewrite.text:
        print(f"改写（{rule.rewrite.scope}）：{rule.rewrite.text}")
    for e in rule.examples.fire:
        print(f"  应命中：{e.text}")
    for e in rule.examples.clean:
        print(f"  不应命中：{e.text}")
    return EXIT_OK


def cmd_rules_test(args: argparse.Namespace) -> int:
    from .selftest import run_rule_examples

    from .batch.command import UsageError, config_from_args

    try:
        cfg = config_from_args(args)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    dirs = args.dirs or cfg.lexicons
    for d in dirs:
        if not Path(d).is_dir():
            raise CliError(f"{d}: not a directory")
    from .batch.runner import cached_checker

    # The config's rule selection counts: a team that replaces a rule by its own version disables the original.
    checker = cached_checker(dirs, enable=cfg.enable, disable=cfg.disable, allow=cfg.allow)
    own = {r.id for r in checker.lexicon.rules if not dirs or any(
        str(Path(checker.lexicon.sources[r.id]).resolve()).startswith(str(Path(d).resolve())) for d in dirs)}
    failures = run_rule_examples(checker, only=own)
    for line in failures:
        print(f"FAIL {line}")
    print(f"{len(own)} rules checked, {len(failures)} failed")
    return EXIT_VIOLATION if failures else EXIT_OK


def cmd_rules_lint(args: argparse.Namespace) -> int:
    from .lint import lint

    for d in args.dirs:
        if not Path(d).is_dir():
            raise CliError(f"{d}: not a directory")
    problems = lint(args.dirs)
    for p in problems:
        print(("warning " if p.warning else "error ") + str(p))
    errors = [p for p in problems if not p.warning or args.strict]
    print(f"{len(problems) - len(errors)} warnings, {len(errors)} errors")
    return EXIT_VIOLATION if errors else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .server import run
    except ImportError as exc:
        raise CliError(f"the server needs extra packages: pip install 'tonecheck[server]' ({exc.name} missing)") from None
    if args.store:
        from .store.commands import check_store_url

        problem = check_store_url(args.store)
        if problem:
            raise CliError(problem)
    run(host=args.host, port=args.port, workers=args.workers, **({"store": args.store} if args.store else {}))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
