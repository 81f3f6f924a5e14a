"""Hostile iptables and CSV inputs (issue 22), fuzzed: jump graphs (chains, diamonds, cycles, deep
chains), raw/mangle tables with DROP and ACCEPT, control characters and non-ASCII digits in names,
ports and addresses, CSV rows with '#' first cells. Every outcome, through the frontend, the compiler,
verify, explain and reverse, is a result or an InputError within BOUND seconds; for raw DROPs and '#'
rows, a flow the source denies (a brute-force reading of the source written here) is not allowed by the
loaded ruleset."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.errors import InputError
from translator.frontends import csv_rules, iptables
from translator.model.inventory import parse_inventory
from translator.model.ruleset import DENY

from .downstream import downstream
from .secure import decide

BOUND = 5.0  # wall-clock seconds per example
EXAMPLES = 150
INV = parse_inventory(
    "namespaces:\n  ns: {}\nworkloads:\n  web: {namespace: ns, labels: {app: web}, addresses: [10.0.0.5]}\n", "inv.yaml"
)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
WEIRD = st.sampled_from(["²", "٣", "\x00", "\x1b[2J", "\n", "\t", "é", "１", "0x1", "-1", "65536", "a b", "#"])
FILTER = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"


def run(fn, *args, **kw):
    """FN's result or None on an InputError, within BOUND seconds (anything else fails the test)."""
    t = time.monotonic()
    try:
        out = fn(*args, **kw)
    except InputError:
        out = None
    assert time.monotonic() - t < BOUND
    return out


def compile_all(rulesets):
    """Compile, verify, explain and reverse each ruleset (tests/downstream.py), within BOUND seconds each."""
    for rs in rulesets or ():
        run(downstream, rs, INV)


@st.composite
def jump_graphs(draw):
    """Chains C0..Cn-1 with jumps between them: forward edges (chains, diamonds), back edges (cycles)."""
    n = draw(st.integers(1, 30))
    lines = ["-A FORWARD -j C0"]
    for i in range(n):
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["jump", "jump", "back", "drop", "accept", "return", "goto"]))
            match = draw(st.sampled_from(["", "-p tcp ", "-s 10.0.0.0/8 ", "-i eth1 ", "-p udp --dport 53 "]))
            if kind in ("jump", "goto") and i + 1 < n:
                j = draw(st.integers(i + 1, min(n - 1, i + 3)))
                lines.append(f"-A C{i} {match}-{'j' if kind == 'jump' else 'g'} C{j}")
            elif kind == "back" and i:
                lines.append(f"-A C{i} {match}-j C{draw(st.integers(0, i))}")
            elif kind in ("drop", "accept", "return"):
                lines.append(f"-A C{i} {match}-j {kind.upper()}")
    return FILTER + "".join(f":C{i} - [0:0]\n" for i in range(n)) + "\n".join(lines) + "\nCOMMIT\n"


@SETTINGS
@given(jump_graphs())
def test_jump_graphs_give_a_result_or_a_clear_error(text):
    compile_all(run(iptables.load, text, "g.rules"))


def test_diamond_and_deep_shapes_stay_bounded():
    n = 60  # 2**60 paths
    names = "".join(f":D{i} - [0:0]\n:L{i} - [0:0]\n:R{i} - [0:0]\n" for i in range(n)) + f":D{n} - [0:0]\n"
    body = ["-A FORWARD -j D0"] + [
        f"-A D{i} -p tcp -j L{i}\n-A D{i} -j R{i}\n-A L{i} -j D{i + 1}\n-A R{i} -j D{i + 1}" for i in range(n)
    ]
    text = FILTER + names + "\n".join(body + [f"-A D{n} -j DROP"]) + "\nCOMMIT\n"
    assert run(iptables.load, text, "d.rules") is None  # 121 levels deep: the FW2NP_MAX_DEPTH bound


ADDRS = st.sampled_from(["203.0.113.9", "203.0.113.0/28", "198.51.100.1", "10.0.0.0/8", "0.0.0.0/0"])
PORTS = st.sampled_from([None, 22, 80, 443])


@st.composite
def raw_files(draw):
    """(text, [(table, chain, action, src, port)]): raw PREROUTING and mangle chains with DROP/ACCEPT, a
    filter FORWARD that accepts everything."""
    rules = []
    for table, chain in (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "FORWARD")):
        for _ in range(draw(st.integers(0, 4))):
            rules.append((table, chain, draw(st.sampled_from(["DROP", "ACCEPT", "MARK"])), draw(ADDRS), draw(PORTS)))
    policy = {
        ("raw", "PREROUTING"): draw(st.sampled_from(["ACCEPT", "DROP"])),
        ("mangle", "PREROUTING"): "ACCEPT",
        ("mangle", "FORWARD"): "ACCEPT",
    }
    out = []
    for table, chains in (("raw", ("PREROUTING",)), ("mangle", ("PREROUTING", "FORWARD"))):
        out.append(f"*{table}")
        out += [f":{c} {policy[(table, c)]} [0:0]" for c in chains]
        for t, c, action, src, port in rules:
            if t == table:
                spec = f" -p tcp --dport {port}" if port else ""
                target = "MARK --set-mark 1" if action == "MARK" else action
                out.append(f"-A {c} -s {src}{spec} -j {target}")
        out.append("COMMIT")
    text = "\n".join(out) + "\n" + FILTER + "-A FORWARD -j ACCEPT\nCOMMIT\n"
    return text, rules, policy


def _in(addr: str, spec: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(addr) in ipaddress.ip_network(spec)


def source_denies(rules, policy, src: str, port: int) -> bool:
    """The device: each table's chain in packet order, first match; ACCEPT ends the chain, DROP drops."""
    for key in (("raw", "PREROUTING"), ("mangle", "PREROUTING"), ("mangle", "FORWARD")):
        verdict = policy[key]
        for t, c, action, s, p in rules:
            if (t, c) == key and action != "MARK" and _in(src, s) and (p is None or p == port):
                verdict = action
                break
        if verdict == "DROP":
            return True
    return False


FLOWS = [(s, p) for s in ("203.0.113.9", "203.0.113.20", "198.51.100.1", "10.1.2.3", "192.0.2.1") for p in (22, 80)]


@SETTINGS
@given(raw_files())
def test_raw_and_mangle_drops_are_never_allowed(case):
    text, rules, policy = case
    got = run(iptables.load, text, "raw.rules")
    assert got is not None
    [fwd] = got
    for src, port in FLOWS:
        if source_denies(rules, policy, src, port):
            assert decide(fwd, src, "10.0.0.5", 6, port) == DENY, (src, port)
    compile_all(got)


@st.composite
def csv_files(draw):
    rows = []
    for i in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from([f"#{i}", f"#{i} block scanner", f'"#{i}"', f"r{i}", "#"]))
        rows.append((name, draw(ADDRS), draw(st.sampled_from(["deny", "allow"]))))
    text = "# exported\n#Name,Source,Destination,Service,Action\n"
    text += "".join(f"{n},{s},any,any,{a}\n" for n, s, a in rows)
    return text, rows


@SETTINGS
@given(csv_files())
def test_csv_hash_rows_are_rules(case):
    text, rows = case
    [rs] = run(csv_rules.load, text, "r.csv")
    assert len(rs.rules) == len(rows)
    for src in ("203.0.113.9", "198.51.100.1", "10.1.2.3"):
        first = next((a for _n, s, a in rows if _in(src, s)), "deny")  # first match, cleanup deny
        if first == "deny":
            assert decide(rs, src, "10.0.0.5", 6, 80) == DENY
    compile_all([rs])


@SETTINGS
@given(WEIRD, st.sampled_from(["port", "proto", "src", "chain", "icmp", "csvport", "csvsrc"]))
def test_control_and_non_ascii_digits_are_results_or_clear_errors(weird, where):
    rules = {
        "port": f"-A FORWARD -p tcp --dport {weird} -j DROP",
        "proto": f"-A FORWARD -p {weird} -j DROP",
        "src": f"-A FORWARD -s 10.0.0.{weird} -j DROP",
        "chain": f"-A FORWARD -j C{weird}",
        "icmp": f"-A FORWARD -p icmp --icmp-type {weird} -j DROP",
    }
    if where.startswith("csv"):
        cell = f"tcp/{weird}" if where == "csvport" else f"10.0.0.{weird}"
        row = f"r,{cell},any,any,deny\n" if where == "csvsrc" else f"r,any,any,{cell},deny\n"
        compile_all(run(csv_rules.load, "Name,Source,Destination,Service,Action\n" + row, "r.csv"))
        return
    text = FILTER + f":C{weird} - [0:0]\n" * (where == "chain") + rules[where] + "\nCOMMIT\n"
    compile_all(run(iptables.load, text, "w.rules"))
