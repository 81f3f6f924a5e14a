"""Lint a ruleset: exact order checks over the flow space, risky allows, migration traps.

Order checks (shadowed, redundant) hold in every reading of the ruleset: a rule
is taken at its largest possible match set and earlier / later rules at their
smallest (docs/lint.md), so a rule lint calls shadowed or redundant can be
deleted without changing any decision.  Other checks use the secure reading,
the one the compiled NetworkPolicies implement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compiler.findings import APPROXIMATIONS, flow_text
from ..compiler.svcclasses import svc_classes
from ..compiler.sweep import along
from ..compiler.universe import OPTIMISTIC, SECURE, Universe, compile_rules
from ..io.safe_text import escaped
from ..model.inventory import Inventory
from ..model.resolve import Resolver
from ..model.ruleset import ALLOW, TCP, UDP, Rule, Ruleset
from ..model.space import ALL_IP, ALL_V4, ALL_V6, FULL_SVC, IntervalSet, svc_range, whole_proto
from .index import BoxIndex, Scan
from .regions import Box, Line, TooComplex, box, inside, meet, minus, sample

# Cleartext admin / file-transfer services flagged when allowed from external addresses.
CLEARTEXT = (
    (TCP, 21, 21, "ftp"),
    (TCP, 23, 23, "telnet"),
    (UDP, 69, 69, "tftp"),
    (TCP, 512, 512, "rexec"),
    (TCP, 513, 513, "rlogin"),
    (TCP, 514, 514, "rsh"),
    (TCP, 5900, 5900, "vnc"),
    (TCP, 8080, 8080, "http-alt (admin consoles)"),
)
CLEARTEXT_SVC = IntervalSet(iv for p, lo, hi, _ in CLEARTEXT for iv in svc_range(p, lo, hi))
DNS = ((UDP, "udp/53"), (TCP, "tcp/53"))
KINDS = (
    "never-matches",
    "shadowed",
    "redundant",
    "conflict",
    "broad-allow",
    "cleartext-admin",
    "dns-egress",
    "unenforceable",
    "approximation",
    "undecided",
    "note",
)
SEVERITY = {
    "never-matches": "warning",
    "shadowed": "warning",
    "redundant": "info",
    "conflict": "warning",
    "broad-allow": "warning",
    "cleartext-admin": "warning",
    "dns-egress": "warning",
    "unenforceable": "warning",
    "approximation": "info",
    "undecided": "info",
    "note": "info",
}


@dataclass
class LintFinding:
    kind: str
    message: str
    suggestion: str = ""
    rule: Rule | None = None
    related: list[str] = field(default_factory=list)
    example: str | None = None
    severity: str = ""

    def __post_init__(self):
        self.severity = self.severity or SEVERITY[self.kind]

    def __str__(self) -> str:
        # rule ids, names and paths come from the input: control characters are shown escaped
        where = escaped(f"{self.rule.loc}: rule {self.rule.id}: ") if self.rule else ""
        ex = f" (e.g. {escaped(self.example)})" if self.example else ""
        tip = f"\n    suggestion: {escaped(self.suggestion)}" if self.suggestion else ""
        return f"{where}{self.severity}: {self.kind}: {escaped(self.message)}{ex}{tip}"

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "severity": self.severity, "message": self.message}
        if self.rule:
            d["rule"] = self.rule.id
            d["line"] = self.rule.loc.line
        if self.related:
            d["related"] = list(self.related)
        if self.example:
            d["example"] = self.example
        d["suggestion"] = self.suggestion
        return d


class Linter:
    """Holds the compiled rule sets of one ruleset over one universe.

    Boxes are coded by CODING (regions.Line: int masks, or regions.Plain: IntervalSets, same findings).
    NEAR finds the rules whose box can meet a box (index.BoxIndex on int masks, else index.Scan)."""

    def __init__(self, rs: Ruleset, inv: Inventory | None, coding=Line, near=None):
        self.rs, self.inv = rs, inv
        self.resolver = Resolver(rs)
        self.universe = Universe(inv or Inventory(source="<no inventory>"), rs, self.resolver)
        self.secure = compile_rules(rs, self.universe, self.resolver, SECURE)
        self.optimistic = compile_rules(rs, self.universe, self.resolver, OPTIMISTIC)
        self.default_allow = rs.default == ALLOW
        self.external = self.universe.external if inv else ALL_IP
        self.findings: list[LintFinding] = []
        full: dict = {}  # each distinct service set, inside FULL_SVC
        sec, opt = ([self._box(c, full) for c in cs] for cs in (self.secure, self.optimistic))
        admin = Box(self.external, self.universe.concrete_endpoints, CLEARTEXT_SVC)
        sides = [admin] + [b for b in sec + opt if b]
        cleartext = [svc_range(p, lo, hi) for p, lo, hi, _ in CLEARTEXT]
        self.lines = [coding([b[k] for b in sides] + (cleartext if k == 2 else [])) for k in range(3)]
        self.admin = self._code(admin)
        self.cleartext = [(n, self.lines[2].code(x)) for (*_, n), x in zip(CLEARTEXT, cleartext)]
        self._any_svc: dict[IntervalSet, bool] = {}
        self.sec = [self._code(b) for b in sec]
        # largest / smallest match set of each rule over all readings
        self.big, self.small = [], []
        for c, bs, bo in zip(self.secure, self.sec, map(self._code, opt)):
            self.big.append(bo if c.allow else bs)
            self.small.append(bs if c.allow else bo)
        self.shadowed: set[int] = set()
        near = near or (BoxIndex if coding is Line else Scan)
        widths = [len(getattr(line, "cuts", ())) for line in self.lines]
        self.near_small, self.near_big, self.near_sec = (near(bs, widths) for bs in (self.small, self.big, self.sec))
        self.by_action: dict[str, int] = {}
        for k, r in enumerate(rs.rules):
            self.by_action[r.action] = self.by_action.get(r.action, 0) | 1 << k

    @staticmethod
    def _box(c, full: dict):
        svc = full.get(c.svc)
        if svc is None:
            svc = full[c.svc] = c.svc & FULL_SVC
        return box(c.src, c.dst, svc)

    def _code(self, b):
        return b and Box(*(line.code(x) for line, x in zip(self.lines, b)))

    def _decode(self, b) -> Box:
        return Box(*(line.decode(x) for line, x in zip(self.lines, b)))

    def example(self, region) -> str:
        region = [self._decode(region[0])]
        s, d, v = sample(region)
        s, d = _inner(s, region[0].src), _inner(d, region[0].dst)
        svc = region[0].svc
        for proto in (TCP, UDP):
            part = svc & whole_proto(proto)
            if part:
                v = part.first()
                break
        return flow_text(s, d, v, self.universe)

    def add(self, kind: str, message: str, suggestion: str, rule=None, related=(), example=None) -> None:
        self.findings.append(LintFinding(kind, message, suggestion, rule, list(related), example))

    # --- order checks (every reading) ----------------------------------------

    def order(self) -> None:
        rules = self.rs.rules
        for i, r in enumerate(rules):
            if r.platform_default:  # added by the platform (Azure): no one can delete or move it
                continue
            if self.big[i] is None:
                self.shadowed.add(i)
                self.add(
                    "never-matches",
                    "the rule matches no flow of the universe in any reading",
                    "delete it; check its addresses against the inventory (legacy addresses of workloads "
                    "are no longer endpoints) and its services",
                    r,
                )
                continue
            try:
                region, covering = [self.big[i]], []
                for j in self.near_small.touching(self.big[i], 0, i):
                    if meet(region, self.small[j]):
                        covering.append(rules[j].ref)
                        region = minus(region, self.small[j])
                        if not region:
                            break
                if not region:
                    self.shadowed.add(i)
                    self.add(
                        "shadowed",
                        f"no flow reaches it: earlier rule(s) {', '.join(covering)} decide all its flows",
                        f"delete it, or move it above {covering[0]} if it was meant to apply",
                        r,
                        covering,
                    )
                    continue
                self.redundant(i, region)
            except TooComplex:
                self.add(
                    "undecided",
                    "too many disjoint pieces to decide shadowing/redundancy exactly; skipped",
                    "split the rule or lint a smaller ruleset",
                    r,
                )

    def redundant(self, i: int, region) -> None:
        """Does deleting rule I change no decision?  REGION: the flows it may decide."""
        r, rules, hull = self.rs.rules[i], self.rs.rules, self.big[i]
        absorbed, n, same = [], len(rules), self.by_action[r.action]
        # REGION lies in HULL: a later rule whose box (smallest if it acts alike, largest if not) misses HULL
        # cannot take any of it
        later = self.near_small.touching(hull, i + 1, n, same) + self.near_big.touching(hull, i + 1, n, ~same)
        for k in sorted(later):
            if rules[k].action == r.action:
                if meet(region, self.small[k]):
                    absorbed.append(rules[k].ref)
                    region = minus(region, self.small[k])
            elif meet(region, self.big[k]):
                return
            if not region:
                break
        if region and self.default_allow != (r.action == ALLOW):
            return
        if region:
            absorbed.append(f"default {self.rs.default}")
        if absorbed == [f"default {self.rs.default}"]:
            self.add(
                "redundant",
                f"it restates the default action ({self.rs.default}) for every flow it decides",
                "harmless; delete it if you do not want an explicit cleanup rule",
                r,
                absorbed,
            )
        else:
            self.add(
                "redundant",
                f"deleting it changes no decision: {', '.join(absorbed)} decide its flows the same way",
                "delete it",
                r,
                absorbed,
            )

    # --- secure-reading checks -----------------------------------------------

    def conflicts_and_risks(self) -> None:
        rules = self.rs.rules
        for i, c in enumerate(self.secure):
            if i in self.shadowed:
                continue
            own = self.sec[i]
            if own is None:
                continue
            try:
                region, takers, first_taken = [own], [], None
                for j in self.near_sec.touching(own, 0, i):
                    other = self.sec[j]
                    taken = meet(region, other)
                    if taken and self.secure[j].allow != c.allow and not inside(other, own):
                        takers.append(rules[j].ref)
                        first_taken = first_taken or taken
                    region = minus(region, other) if taken else region
                    if not region:
                        break
            except TooComplex:
                continue
            if takers:
                word = "deny" if c.allow else "allow"
                self.add(
                    "conflict",
                    f"earlier {word} rule(s) {', '.join(takers)} decide part of its flows first",
                    f"check the intent: move it above {takers[0]} or narrow {takers[0]}",
                    c.rule,
                    takers,
                    self.example(first_taken),
                )
            if c.allow and region:
                self.risky(c.rule, region)

    def risky(self, r: Rule, region) -> None:
        src, dst = self.resolver.address(r.src).lower, self.resolver.address(r.dst).lower
        svc = self.resolver.services(r.services).lower
        any_src, any_dst = (ALL_V4.issubset(x) or ALL_V6.issubset(x) for x in (src, dst))
        any_svc = self._any_svc.get(svc)
        if any_svc is None:
            any_svc = self._any_svc[svc] = FULL_SVC.issubset(svc)
        if any_src and any_dst:
            what = "any source to any destination" + (", any service" if any_svc else "")
            self.add(
                "broad-allow",
                f"allows {what}",
                "narrow the source, destination and services to what is needed",
                r,
                example=self.example(region),
            )
        elif any_svc and (any_src or any_dst):
            self.add(
                "broad-allow",
                f"allows every service {'from any source' if any_src else 'to any destination'}",
                "list the services that are needed",
                r,
                example=self.example(region),
            )
        admin = meet(region, self.admin)
        if admin:
            names = [n for n, v in self.cleartext if any(b.svc & v for b in admin)]
            self.add(
                "cleartext-admin",
                f"allows {', '.join(names)} from external addresses",
                "restrict the source to management networks, or use an encrypted protocol (ssh, sftp, https)",
                r,
                example=self.example(admin),
            )

    # --- pod checks (inventory only) ------------------------------------------

    def protected(self) -> set[int]:
        """Pod classes whose egress the compiled output isolates (the ruleset's scope, as synth reads it)."""
        if "egress" not in getattr(self.rs, "directions", ("egress",)):
            return set()
        protects = getattr(self.rs, "protects", None)
        atoms = [a for a in self.universe.pod_classes if a.governed]
        if protects is not None:
            region, _ = self.universe.denote(self.resolver.address(protects).upper, full=False)
            atoms = [a for a in atoms if a.point in region]
        return {a.index for a in atoms}

    def dns(self) -> None:
        scope = self.protected()
        classes = svc_classes(self.secure)
        ends = self.universe.concrete_endpoints
        for atom in self.universe.pod_classes:
            if atom.index not in scope or not atom.legacy:
                continue  # lint reads a pod without legacy addresses by its possible addresses
            groups = along(self.secure, "src", atom.point, self.default_allow, self.universe.end)
            if len(groups) == 1 and groups[0].allowed == classes.full and ends.issubset(groups[0].ends):
                continue  # egress not restricted
            allowed = IntervalSet(iv for region, svc, *_ in groups if region & ends for iv in classes.set(svc))
            missing = [label for proto, label in DNS if not svc_range(proto, 53, 53).issubset(allowed)]
            if missing:
                what = "neither udp/53 nor tcp/53 is" if len(missing) == 2 else f"{missing[0]} is not"
                self.add(
                    "dns-egress",
                    f"{atom}: egress is restricted and {what} allowed to any destination: "
                    f"name resolution will break" + ("" if len(missing) == 2 else " for large answers"),
                    "allow udp/53 and tcp/53 to the cluster DNS (kube-system/kube-dns) or your resolvers, "
                    "above the cleanup rule",
                )

    def approximations(self, result) -> None:
        for f in result.findings:
            if f.kind == "out-of-reach" and self.inv:
                self.add(
                    "unenforceable",
                    f.message,
                    "enforce it outside Kubernetes (cloud firewall, network ACL) or drop it",
                    f.rule,
                    example=f.example,
                )
            elif f.kind in APPROXIMATIONS and (self.inv or f.kind in ("unresolved", "condition")):
                self.add(
                    "approximation",
                    f"{f.kind}: {f.message}",
                    "review: the output is never more permissive than the firewall, so flows here may be denied",
                    f.rule,
                    example=f.example,
                )
            elif f.kind == "note" and self.inv:
                self.add("note", f.message, "", f.rule, example=f.example)


def _inner(x: int, side: IntervalSet) -> int:
    """X, or the next point when X is a network's all-zero address (0.0.0.0 reads badly)."""
    return x + 1 if x == 0 and x + 1 in side else x


def lint(rs: Ruleset, inv: Inventory | None = None, result=None) -> list[LintFinding]:
    """All lint findings for RS, ordered by rule.  RESULT: a `synth.convert` result to reuse."""
    from ..compiler.synth import convert

    lt = Linter(rs, inv)
    lt.order()
    lt.conflicts_and_risks()
    if inv:
        lt.dns()
    lt.approximations(result if result is not None else convert(rs, inv or Inventory(source="<no inventory>")))
    pos = {id(r): k for k, r in enumerate(rs.rules)}
    return sorted(lt.findings, key=lambda f: (pos[id(f.rule)] if f.rule else len(pos), KINDS.index(f.kind)))


# kinds convert's own summary already prints (as compiler findings)
IN_CONVERT = {"approximation", "unenforceable", "note"}


CONVERT_LINT_MAX_RULES = 2000  # lint compiles the rules twice more and sweeps every pod class: about a convert
