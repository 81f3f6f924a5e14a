"""The tables of an iptables-save file: its statements read in order (scanned, or parsed by lark)."""

from __future__ import annotations

from lark.exceptions import UnexpectedInput

from ...errors import InputError, Warning_
from ...io.resources import lalr_parser
from ..common.syntax import syntax_error
from . import scanner
from .match import ChainDecl, IptablesTable
from .options import BUILTIN, builtin_chains
from .reader import IptablesReader, family

TERMINAL_NAMES = {
    "TABLE": "a table (*filter)",
    "CHAIN_DECL": "a chain (:INPUT ACCEPT)",
    "POLICY": "a policy",
    "COUNTERS": "counters [0:0]",
    "OPT": "an option (-A, -s, --dport ...)",
    "COMMIT": "COMMIT",
    "WORD": "a value",
    "STRING": "a quoted string",
    "NEG": "'!'",
    "_NL": "end of line",
}


def parse(text: str, path: str) -> tuple[dict[str, IptablesTable], IptablesReader]:
    from ...limits import check_lines

    check_lines(text, path)
    try:  # each line read as it is scanned, no records kept
        got = read(scanner.scan(text), text, path)
    except InputError:
        got = None  # the error lark's reading gives (a syntax error may come first)
    if got is not None:
        return got
    records = scanner.fast_records(text)
    if records is None:
        try:
            # no propagated positions (a third of lark's time): every node starts with a token
            tree = lalr_parser("iptables.lark").parse(text + ("" if text.endswith("\n") else "\n"))
        except UnexpectedInput as exc:
            raise syntax_error(exc, text, path, TERMINAL_NAMES) from None
        records = scanner.tree_records(tree)
    return read(records, text, path)


# the tables read: filter, and those whose DROPs see packets before (raw, mangle) or after it (security)
READ_TABLES = ("filter", "raw", "mangle", "security")


def nat_filtering(rd: IptablesReader, table: str, toks) -> None:
    """A DROP or REJECT in a table fw2np does not read (nat): the kernel refuses it (nat does not filter),
    and fw2np must not drop it silently."""
    for a, b in zip(toks, toks[1:]):
        if a.text in ("-j", "--jump", "-g", "--goto") and b.text in ("DROP", "REJECT"):
            raise rd.fail(
                f"-j {b.text} in table {table}: the {table} table does not filter (iptables refuses this rule); "
                "put it in the filter table",
                b,
            )


def read(records, text: str, path: str) -> tuple[dict[str, IptablesTable], IptablesReader] | None:
    """The tables of RECORDS (any iterable); None at a None record."""
    rd = IptablesReader(text, path, family(text))
    tables: dict[str, IptablesTable] = {}
    cur: IptablesTable | None = None
    for rec in records:
        if rec is None:
            return None
        kind, line, column, kids = rec
        if kind == "rule" and cur is not None and not cur.committed:
            toks = kids if kids[0].type != "COUNTERS" else kids[1:]
            opt = toks[0]
            if opt.text not in ("-A", "--append"):
                raise rd.fail(f"expected -A CHAIN (iptables-save output), not {opt.text!r}", opt)
            if len(toks) < 2 or toks[1].type != "WORD":
                raise rd.fail("-A needs a chain name", opt)
            if cur.name not in READ_TABLES:
                nat_filtering(rd, cur.name, toks)
                continue
            chain = toks[1].text
            if cur.name != "filter" and chain in builtin_chains(cur.name) and chain not in cur.chains:
                cur.chains[chain] = ChainDecl("ACCEPT", rd.loc(toks[1]))  # iptables-restore: built in, policy ACCEPT
                cur.rules[chain] = []
            rules = cur.rules.get(chain)
            if rules is None or chain not in cur.chains:
                raise rd.fail(f"chain {chain} is not declared (add ':{chain} -' above)", toks[1])
            r = rd.rule(line, column, kids[0], toks[1], toks[2:], len(rules) + 1)
            r.table = cur.name
            rules.append(r)
        elif kind == "table":
            name = kids[0].text[1:]
            if cur and not cur.committed:
                raise rd.fail(f"table {cur.name} is not closed by COMMIT", kids[0])
            if name in tables:
                raise rd.fail(f"table {name} appears twice", kids[0])
            cur = tables[name] = IptablesTable(name, rd.loc(kids[0]))
        elif cur is None or cur.committed:
            raise rd.fail("expected a table line such as *filter first", kids[0])
        elif kind == "commit":
            cur.committed = True
        else:
            chain, policy = kids[0].text[1:], kids[1].text
            if chain in cur.chains:
                raise rd.fail(f"chain {chain} is declared twice", kids[0])
            if policy not in ("ACCEPT", "DROP", "-"):
                raise rd.fail(f"chain policy must be ACCEPT, DROP or '-', not {policy!r}", kids[1])
            if (policy == "-") == (chain in BUILTIN):
                what = "a built-in chain needs ACCEPT or DROP" if chain in BUILTIN else "a user chain takes '-'"
                if cur.name == "filter":
                    raise rd.fail(f"chain {chain}: {what}", kids[1])
            cur.chains[chain] = ChainDecl(policy, rd.loc(kids[0]))
            cur.rules.setdefault(chain, [])
    if cur and not cur.committed:
        rd.warnings.append(Warning_(f"table {cur.name} is not closed by COMMIT", cur.loc))
    return tables, rd
