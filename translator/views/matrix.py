"""The workload-by-workload matrix: rows are sources, columns destinations (the inventory's workloads,
the other pods of each namespace, pods of namespaces outside the inventory, addresses outside the
cluster); each cell the services allowed, merged into ranges.

Every cell is decided by the evaluators (the firewall's secure reading for a ruleset, the target API's
evaluator for policies) over verify's partition, one flow a class: a row or column that groups several
classes (other pods, outside) shows a service when every class allows it, and marks it `~` when only
some do."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..evaluate import FirewallEvaluator, NetpolEvaluator
from ..evaluate.endpoints import Ip, Pod
from ..model.inventory import NAME_LABEL, Inventory
from ..model.ruleset import Ruleset, port_domain
from ..verify.addresses import elementary_intervals, rule_leaves
from ..verify.classes import IpClass, PodClass
from ..verify.partition import Partition

NAMES = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"}
SHOWN = (6, 17, 132, 1, 58)


@dataclass
class Matrix:
    labels: list[str]  # row and column labels, in order
    cells: dict[tuple[str, str], str]  # (source, destination) -> services text ("" when none)
    what: str  # "ruleset NAME" or "N policies"
    title: str = ""  # the table's title ("" : what WHAT allows)

    def cell(self, src: str, dst: str) -> str:
        return self.cells.get((src, dst), "")


def endpoint(c):
    if isinstance(c, IpClass):
        return Ip(c.address)
    return Pod.of(c.namespace, c.label_map, ports=list(c.ports), ip=c.ip)


def _label(c, inv: Inventory) -> str:
    if isinstance(c, IpClass):
        return "outside"
    if c.workload:
        w = inv.workloads.get(c.workload)
        return f"{w.namespace}/{w.name}" if w else str(c.workload)
    if c.governed:
        return f"{c.namespace}/(other pods)"
    return "(pods elsewhere)"


def _intervals(leaves: list[tuple[int, int, int]], protos: set[int]) -> list[tuple[int, int, int]]:
    """Elementary (proto, lo, hi) intervals over which every rule and policy decides alike."""
    out = []
    for proto in sorted(protos):
        dlo, dhi = port_domain(proto)
        mine = [(i, lo, hi) for i, (p, lo, hi) in enumerate(leaves) if p == proto]
        cuts = sorted({dlo, dhi + 1} | {x for _, lo, hi in mine for x in (lo, hi + 1) if dlo <= x <= dhi})
        for a, b, _sig in elementary_intervals(cuts, mine):  # [a, b)
            out.append((proto, a, b - 1))
    return out


def services_text(
    allowed: list[tuple[int, int, int, bool]], other: tuple[bool, bool] | None, everything: bool, named=()
) -> str:
    """Merged ranges as `tcp/80,443 udp/53` (`~` before what only some classes allow); EVERYTHING: every
    service is allowed by every class pair.  OTHER: (all, some) class pairs allow the protocols nothing
    names; NAMED: the other protocols the ruleset or policies name, which `other protocols` leaves out
    when they are not allowed (`other protocols but proto/47`)."""
    if everything:
        return "all"
    parts: dict[tuple[int, bool], list[tuple[int, int]]] = {}
    for proto, lo, hi, full in allowed:
        runs = parts.setdefault((proto, full), [])
        if runs and runs[-1][1] + 1 == lo:
            runs[-1] = (runs[-1][0], hi)
        else:
            runs.append((lo, hi))
    words = []
    for (proto, full), runs in sorted(
        parts.items(), key=lambda x: (SHOWN.index(x[0][0]) if x[0][0] in SHOWN else 9, x[0][0], not x[0][1])
    ):
        dlo, dhi = port_domain(proto)
        name = NAMES.get(proto, f"proto/{proto}")
        if runs == [(dlo, dhi)]:
            text = name
        else:
            text = name + "/" + ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        words.append(text if full else "~" + text)
    if other is not None and (other[0] or other[1]):
        full = {p for p, _, _, f in allowed if f}
        but = [f"proto/{p}" for p in sorted(named) if p not in full]
        words.append(("other protocols" if other[0] else "~other protocols") + (f" but {','.join(but)}" if but else ""))
    return " ".join(words)


def build(
    inv: Inventory, rs: Ruleset | None = None, policies: list[dict] | None = None, target: str = "networkpolicy"
) -> Matrix:
    """The matrix of RS (its secure reading) or of POLICIES (of TARGET)."""
    policies = policies or []
    if rs is None:
        source = None
        if policies and target != "networkpolicy":
            from ..targets import module

            source = module(target).cuts(policies, target)
        # policies select pods by labels: the legacy addresses (maybe a ruleset's object names) play no part
        bare = replace(inv, workloads={k: replace(w, addresses=[]) for k, w in inv.workloads.items()})
        part = Partition(Ruleset("none", ""), bare, policies, source)
        decide = policy_decider(policies, inv, target, part)
        what = f"{len(policies)} polic{'y' if len(policies) == 1 else 'ies'}"
    else:
        part = Partition(rs, inv, [])
        ev = FirewallEvaluator(rs, inv, "secure")

        def decide(s, d, proto, port):
            return ev.decide(endpoint(s), endpoint(d), proto, port)[0]

        what = f"ruleset {rs.name}"
    labels, groups, intervals, spare = frame(inv, part, [rs] if rs is not None else [])
    cells: dict[tuple[str, str], str] = {}
    for sl in labels:
        for dl in labels:
            if skipped(sl, dl):
                continue
            pairs = [(s, d) for s in groups[sl] for d in groups[dl]]
            allowed = []
            for proto, lo, hi in intervals:
                got = [decide(s, d, proto, lo) for s, d in pairs]
                if any(got):
                    allowed.append((proto, lo, hi, all(got)))
            other = [decide(s, d, spare, 0) for s, d in pairs]
            everything = all(other) and len(allowed) == len(intervals) and all(a[3] for a in allowed)
            named = {p for p, _, _ in intervals if p not in SHOWN}
            cells[(sl, dl)] = services_text(allowed, (all(other), any(other)), everything, named)
    return Matrix(labels, cells, what)


def frame(inv: Inventory, part: Partition, rulesets: list[Ruleset]):
    """(labels, label -> flow classes, service intervals, a protocol nothing names) of PART."""
    leaves = [(s.proto, s.lo, s.hi) for rs in rulesets for s in rule_leaves(rs)[1] if s.proto is not None]
    leaves += list(part.src.ports)
    named = {q for q, _, _ in leaves} | set(part.src.protos)
    intervals = _intervals(list(dict.fromkeys(leaves)), set(SHOWN) | named)
    spare = next(p for p in range(2, 256) if p not in SHOWN and p not in named)
    groups: dict[str, list] = {}
    for c in [*part.pods, *part.ips]:
        if isinstance(c, PodClass) and c.ip:
            continue  # pod IP variants: the pod class itself stands for them here
        groups.setdefault(_label(c, inv), []).append(c)
    labels = sorted(groups, key=lambda k: (k == "outside", k.startswith("("), "/(other" in k, k))
    return labels, groups, intervals, spare


def skipped(sl: str, dl: str) -> bool:
    """Cells with no governed end (outside to outside, pods elsewhere to outside or to themselves)."""
    return sl == dl == "outside" or (sl.startswith("(") and dl in ("outside", sl))


def policy_decider(policies, inv: Inventory, target: str, part: Partition):
    base = {ns: dict(inv.namespaces[ns]) for ns in inv.namespaces}
    for c in part.pods:
        if not c.governed and c.world is None:
            base[c.namespace] = {k: v for k, v in c.ns_labels if k != NAME_LABEL}
    cache: dict = {}

    def evaluator(world):
        if world not in cache:
            labels = dict(base)
            if world is not None:
                ns, ns_labels = world
                labels[ns] = {k: v for k, v in ns_labels if k != NAME_LABEL}
            if target == "networkpolicy":
                cache[world] = NetpolEvaluator(policies, labels)
            else:
                from ..targets import module

                cache[world] = module(target).evaluator(policies, labels, target)
        return cache[world]

    def decide(s, d, proto, port):
        world = next((c.world for c in (s, d) if isinstance(c, PodClass) and c.world is not None), None)
        return evaluator(world).allows(endpoint(s), endpoint(d), proto, port)

    return decide


# --- rendering ------------------------------------------------------------------------------------


def to_csv(m: Matrix) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["from \\ to", *m.labels])
    for s in m.labels:
        w.writerow([s, *(m.cell(s, d) or "-" for d in m.labels)])
    return buf.getvalue()


def to_table(m: Matrix, width: int | None = None) -> str:
    """A rich table that fits WIDTH columns (the terminal's): cells are cut with `…` to fit."""
    import io

    from rich.console import Console
    from rich.table import Table

    console = Console(width=width or 160, record=True, file=io.StringIO(), color_system=None)
    n = len(m.labels)
    cell_w = max(6, min(28, ((width or 160) - 24) // max(1, n) - 3))
    title = m.title or f"allowed by {m.what} (rows: from, columns: to; ~: by some of the row or column only)"
    t = Table(title=title, show_lines=False)
    t.add_column("from \\ to", no_wrap=True)
    for d in m.labels:
        t.add_column(_cut(d, cell_w), no_wrap=True, max_width=cell_w)
    for s in m.labels:
        t.add_row(s, *(_cut(m.cell(s, d) or "-", cell_w) if (s, d) in m.cells else "" for d in m.labels))
    console.print(t)
    return console.export_text()


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def to_dot(m: Matrix) -> str:
    """The matrix as a Graphviz graph: namespaces as clusters, workloads as nodes, one edge a pair
    that allows something (labelled with the services), addresses outside the cluster as one node."""

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "digraph fw2np {",
        "  rankdir=LR; node [shape=box, style=rounded, fontname=Helvetica]; edge [fontname=Helvetica, fontsize=10];",
        f"  label={q('allowed by ' + m.what + ' (edges: services; dashed: some of a group only)')}; labelloc=t;",
    ]
    by_ns: dict[str, list[str]] = {}
    for label in m.labels:
        ns = label.split("/", 1)[0] if "/" in label and not label.startswith("(") else ""
        by_ns.setdefault(ns, []).append(label)
    for k, (ns, labels) in enumerate(sorted(by_ns.items())):
        if ns:
            lines.append(f"  subgraph cluster_{k} {{ label={q('namespace ' + ns)}; style=dashed;")
            lines += [f"    {q(lbl)} [label={q(lbl.split('/', 1)[1])}];" for lbl in labels]
            lines.append("  }")
        else:
            lines += [f"  {q(lbl)} [shape=ellipse];" for lbl in labels]
    for s in m.labels:
        for d in m.labels:
            cell = m.cell(s, d)
            if not cell or cell == "-":
                continue
            style = ", style=dashed" if cell.startswith("~") or " ~" in cell else ""
            lines.append(f"  {q(s)} -> {q(d)} [label={q(cell)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
