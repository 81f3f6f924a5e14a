"""convert's summary on stderr: findings grouped by kind with a few examples, one line per ruleset last.

Every finding of a ruleset (the frontend's warnings, the compiler's findings, the lint findings the
compiler does not already report) is counted once; `--findings FILE` writes them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from ..compiler.findings import APPROXIMATIONS, KINDS
from ..io.safe_text import escaped

EXAMPLES = 3  # findings shown per kind
PLURALS = {"policy": "policies", "class": "classes", "pod class": "pod classes", "is": "are", "has": "have"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """N and WORD in the number N asks for: '1 policy', '2 policies', '0 findings'."""
    return f"{n} {word if n == 1 else many or PLURALS.get(word) or word + 's'}"


@dataclass
class Item:
    """One finding of any source, as shown (TEXT, without its kind) and as written to --findings."""

    source: str  # input (a frontend warning), compiler, lint
    kind: str
    severity: str
    text: str
    line: str  # the whole one-line text, kind included (the --findings text file)
    record: dict

    @property
    def label(self) -> str:
        if self.source == "lint":
            return f"{self.kind} (lint {self.severity})"
        if self.source == "input":
            return "input warning"
        return self.kind + (" (denies more than the ruleset)" if self.kind in APPROXIMATIONS else "")


def _where(rule_id, loc) -> str:
    return escaped(f"{loc}: rule {rule_id}: ") if loc else ""


def _example(example) -> str:
    return f" (e.g. {escaped(example)})" if example else ""


def input_items(ruleset) -> list[Item]:
    """The frontend's warnings about RULESET."""
    out = []
    for w in ruleset.warnings:
        rec = {"source": "input", "kind": "warning", "message": w.message}
        if w.rule:
            rec["rule"] = w.rule
        if w.loc and w.loc.line:
            rec["line"] = w.loc.line
        text = escaped(str(w))
        out.append(Item("input", "warning", "warning", text.replace("warning: ", "", 1), text, rec))
    return out


def compiler_items(findings) -> list[Item]:
    """The compiler's FINDINGS (compiler.findings.Finding)."""
    out = []
    for f in findings:
        where = _where(*f.where) if f.where else ""
        rec = {"source": "compiler", **f.to_dict()}
        out.append(Item("compiler", f.kind, "info", where + escaped(f.message) + _example(f.example), escaped(f), rec))
    return out


def lint_items(findings) -> list[Item]:
    """Lint FINDINGS (lint.checks.LintFinding)."""
    out = []
    for f in findings:
        where = _where(f.rule.id, f.rule.loc) if f.rule else ""
        rec = {"source": "lint", **f.to_dict()}
        out.append(Item("lint", f.kind, f.severity, where + escaped(f.message) + _example(f.example), str(f), rec))
    return out


def items(result, lint_findings) -> list[Item]:
    """Every finding of one convert RESULT and the LINT_FINDINGS to show with it, in display order."""
    found = input_items(result.ruleset) + compiler_items(result.findings) + lint_items(lint_findings)
    from ..lint.checks import KINDS as LINT_KINDS

    rank = {"input": 0, "compiler": 1, "lint": 2}
    order = {k: n for n, k in enumerate(KINDS + LINT_KINDS)}
    return sorted(found, key=lambda i: (rank[i.source], i.severity != "warning", order.get(i.kind, len(order)), i.kind))


def groups(found: list[Item]) -> dict[str, list[Item]]:
    """FOUND by label, in display order."""
    out: dict[str, list[Item]] = {}
    for i in found:
        out.setdefault(i.label, []).append(i)
    return out


def group_lines(name: str, found: list[Item], examples: int = EXAMPLES) -> list[str]:
    """The findings of ruleset NAME by kind: a count and the first EXAMPLES of each."""
    if not found:
        return []
    lines = [f"findings of {escaped(name)} by kind:"]
    for label, its in groups(found).items():
        lines.append(f"  {label}: {len(its)}")
        lines += [f"    {i.text}" for i in its[:examples]]
        if len(its) > examples:
            lines.append(f"    ... and {len(its) - examples} more")
    return lines


def counts(found: list[Item]) -> str:
    """'2 partial-cover, 1 note' (each kind once, in display order)."""
    by: dict[str, int] = {}
    for i in found:
        kind = "input warning" if i.source == "input" else i.kind
        by[kind] = by.get(kind, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in by.items())


def ruleset_line(result, found: list[Item], prefix: str, lint_note: str, findings_file: str | None) -> str:
    """The closing line of one ruleset: what was read, what was written, how many findings."""
    st, name = result.stats, result.ruleset.name
    folded = f"{st['folded']} folded into others (jumps, RETURN, goto_next), " if st["folded"] else ""
    named = f", named {escaped(prefix)}-*" if prefix != name else ""
    line = (
        f"fw2np: {escaped(name)}: {plural(st['lines'], 'rule line')} seen, {plural(st['rules'], 'rule')} read, "
        f"{st['skipped']} skipped, {folded}{plural(st['policies'], 'policy')} written "
        f"({plural(st['peers'], st.get('unit', 'peer'))}){named}; "
    )
    line += f"{plural(len(found), 'finding')} ({counts(found)})" if found else "no findings"
    if findings_file:
        line += f"; all of them in {escaped(findings_file)}"
    elif any(len(g) > EXAMPLES for g in groups(found).values()):
        line += "; all of them: --findings FILE"
    return line + (f"; {lint_note}" if lint_note else "")


def findings_option():
    """--findings FILE: every finding written to FILE (JSON when it ends in .json, else text)."""
    return click.option(
        "--findings",
        "findings",
        type=click.Path(dir_okay=False),
        help="Write every finding to this file (JSON if it ends in .json, else one line each).",
    )


def lint_extras(result, inv) -> tuple[list, str]:
    """The lint findings of RESULT's ruleset that its compiler findings do not already say; or none, and why."""
    from ..lint.checks import CONVERT_LINT_MAX_RULES, IN_CONVERT, lint

    n = len(result.ruleset.rules)
    if n > CONVERT_LINT_MAX_RULES:
        return [], f"lint skipped ({n} rules > {CONVERT_LINT_MAX_RULES}; run `fw2np lint` for it)"
    return [f for f in lint(result.ruleset, inv, result) if f.kind not in IN_CONVERT], ""


def write_findings(path: str, per_ruleset: list[tuple[str, list[Item]]]) -> None:
    """Every finding to PATH: JSON when it ends in .json, else one line each."""
    from ..io.manifests import write_atomic

    if path.lower().endswith(".json"):
        doc = {"rulesets": [{"name": n, "findings": [i.record for i in found]} for n, found in per_ruleset]}
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "".join(
            f"ruleset {escaped(n)}: {plural(len(found), 'finding')}\n" + "".join(f"{i.line}\n" for i in found)
            for n, found in per_ruleset
        )
    write_atomic(path, text)


def echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
