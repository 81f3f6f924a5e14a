"""AWS network ACLs (`aws ec2 describe-network-acls` JSON).

One ruleset per ACL and direction (`<NetworkAclId>-ingress`, `-egress`), entries
in RuleNumber order; rule 32767 is the final `*` deny, the ruleset's default.
`CidrBlock`/`Ipv6CidrBlock` is the remote side; the subnet side is the --host
workload's addresses, else any.  Security groups are refused: they are
stateful and unordered, not a first-match ruleset.

Network ACLs are stateless: the device checks a connection's replies against the other direction's
entries, and NetworkPolicy (stateful) lets them through.  So an allow keeps its meaning only for
the remote addresses the other direction surely lets every reply back to (`reply_split`): same
protocol, to any ephemeral port 1024-65535 (the port range AWS documents for clients, NAT gateways
included).  For the other addresses the allow carries a condition (the compiler leaves it denied
and reports it: the secure side).
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import Warning_
from ..io.jsonsrc import Doc, looks_like_json
from ..model.names import is_digits
from ..model.ruleset import (
    ALLOW,
    DENY,
    ICMP,
    ICMPV6,
    PORT_PROTOCOLS,
    TYPE_PROTOCOLS,
    AddrExpr,
    Condition,
    Rule,
    Ruleset,
    Svc,
    proto_label,
)
from ..model.space import V6_BASE, IntervalSet
from .common.cloud import host_side, nets_of, port_svc, to_net, with_loc

NAME = "aws-nacl"
LAST = 32767
SG_MESSAGE = (
    "security groups are stateful and unordered: not a firewall ruleset; fw2np translates ordered "
    "rulesets such as network ACLs (aws ec2 describe-network-acls)"
)


def detect(text: str, path: str) -> int:
    if not looks_like_json(text):
        return 0
    head = text[:200000]
    if '"NetworkAcls"' in head or ('"NetworkAclId"' in head and '"Entries"' in head):
        return 95
    if '"SecurityGroups"' in head and '"IpPermissions"' in head:
        return 80
    return 0


def _acls(doc: Doc) -> list:
    data = doc.data
    if isinstance(data, dict) and "SecurityGroups" in data:
        raise doc.fail(SG_MESSAGE, data, "SecurityGroups")
    if isinstance(data, dict) and "NetworkAcls" in data:
        acls = doc.get(data, "NetworkAcls", list, required=True)
    elif isinstance(data, dict) and "Entries" in data:
        acls = [data]
    elif isinstance(data, list):
        acls = data
    else:
        raise doc.fail("expected `aws ec2 describe-network-acls` output: an object with NetworkAcls", data)
    for acl in acls:
        if not isinstance(acl, dict) or not isinstance(acl.get("Entries"), list):
            raise doc.fail("expected a network ACL: an object with NetworkAclId and Entries", acl)
    return acls


def _services(doc: Doc, e: dict, rid: str, warns: list) -> tuple[tuple, tuple]:
    """The entry's services and conditions (an ICMP code cannot be checked)."""
    raw = doc.get(e, "Protocol", (str, int), required=True)
    text = str(raw).strip().lower()
    if text in ("-1", "all"):
        return (Svc.any(),), ()
    names = {"tcp": 6, "udp": 17, "icmp": ICMP, "icmpv6": ICMPV6}
    proto = names.get(text, int(text) if is_digits(text) else None)
    if proto is None or not 0 <= proto <= 255:
        raise doc.fail(f"bad Protocol {raw!r} (expected -1, 6, 17, 1, 58 or a protocol number 0-255)", e, "Protocol")
    if proto in PORT_PROTOCOLS:
        pr = doc.get(e, "PortRange", dict)
        if pr is None:
            return (Svc.whole(proto),), ()
        lo, hi = doc.get(pr, "From", int, required=True), doc.get(pr, "To", int, required=True)
        svc = port_svc(proto, f"{lo}-{hi}", doc.loc(pr))
        if svc is None:
            raise doc.fail(f"bad PortRange {lo}-{hi} (ports 1-65535, From <= To)", e, "PortRange")
        return (svc,), ()
    if proto in TYPE_PROTOCOLS:
        itc = doc.get(e, "IcmpTypeCode", dict)
        typ = doc.get(itc, "Type", int, -1) if itc else -1
        code = doc.get(itc, "Code", int, -1) if itc else -1
        if typ == -1:
            return (Svc.whole(proto),), ()
        if not 0 <= typ <= 255:
            raise doc.fail(f"bad ICMP type {typ} (0-255 or -1)", itc, "Type")
        conds = ()
        if code != -1:
            conds = (Condition(f"icmp code {code}", "ICMP code match"),)
            warns.append(Warning_(f"ICMP code {code} cannot be checked by NetworkPolicy", doc.loc(itc), rid))
        return (Svc(proto, typ, typ, f"{proto_label(proto)}/{typ}", doc.loc(itc)),), conds
    return (Svc.whole(proto),), ()


def _remote(doc: Doc, e: dict) -> AddrExpr:
    key = "CidrBlock" if "CidrBlock" in e else "Ipv6CidrBlock"
    text = doc.get(e, key, str)
    if text is None:
        raise doc.fail("entry has no CidrBlock or Ipv6CidrBlock", e)
    net = to_net(text)
    if net is None or "/" not in text:
        raise doc.fail(f"{key} {text!r} is not a valid CIDR", e, key)
    return AddrExpr((with_loc(net, doc.loc(e, key)),))


def _ruleset(doc: Doc, acl: dict, egress: bool, host_addresses) -> Ruleset:
    acl_id = str(acl.get("NetworkAclId") or "acl")
    rs = Ruleset(name=f"{acl_id}-{'egress' if egress else 'ingress'}", source=doc.path, default=DENY, text=doc.text)
    local = host_side(host_addresses)
    rs.directions = ("egress",) if egress else ("ingress",)
    rs.protects = local if host_addresses else None
    entries = []
    for e in acl["Entries"]:
        if not isinstance(e, dict):
            raise doc.fail("an entry must be an object", acl, "Entries")
        flag = doc.get(e, "Egress", bool, required=True)
        if flag == egress:
            entries.append((doc.get(e, "RuleNumber", int, required=True), e))
    entries.sort(key=lambda x: x[0])
    rs.lines = sum(num != LAST for num, _ in entries)  # the * entry is the default, not a rule line
    seen: dict[tuple, dict] = {}
    for num, e in entries:
        family = "CidrBlock" in e
        if (num, family) in seen:
            raise doc.fail(f"RuleNumber {num} is used twice in {rs.name}", e, "RuleNumber")
        seen[(num, family)] = e
        action = str(doc.get(e, "RuleAction", str, required=True)).lower()
        if action not in (ALLOW, DENY):
            raise doc.fail(f"RuleAction must be allow or deny, got {e['RuleAction']!r}", e, "RuleAction")
        if num == LAST:
            if action != DENY:
                raise doc.fail("rule 32767 must be the final deny", e, "RuleAction")
            continue  # the default
        rid = str(num)
        services, conds = _services(doc, e, rid, rs.warnings)
        remote = _remote(doc, e)
        src, dst = (local, remote) if egress else (remote, local)
        cidr = e.get("CidrBlock") or e.get("Ipv6CidrBlock")
        comment = (
            f"{action} {proto_label(int(e['Protocol'])) if is_digits(str(e['Protocol'])) else 'all'} "
            f"{'to' if egress else 'from'} {cidr}"
        )
        rs.rules.append(
            Rule(
                id=rid,
                action=action,
                src=src,
                dst=dst,
                services=services,
                loc=doc.loc(e),
                comment=comment,
                conditions=conds,
            )
        )
    return rs


EPHEMERAL = (1024, 65535)  # the client ports replies go to (AWS: "ephemeral ports", 1024-65535)


def _remote_of(rule: Rule, egress: bool) -> IntervalSet:
    """The remote addresses of an entry's rule (its CIDR: Nets only)."""
    base = {4: 0, 6: V6_BASE}
    return IntervalSet(
        [(n.first + base[n.version], n.last + base[n.version]) for n in (rule.dst if egress else rule.src).include]
    )


def _reply_test(svc: Svc, esvc: Svc) -> tuple[bool, bool]:
    """(some, every) reply of SVC's connections matched by an entry's service ESVC."""
    if svc.proto is None:  # all protocols: only an all-protocol entry takes every reply
        ports = esvc.proto in PORT_PROTOCOLS
        return not ports or (esvc.lo <= EPHEMERAL[1] and esvc.hi >= EPHEMERAL[0]), esvc.proto is None
    if esvc.proto is None:
        return True, True
    if esvc.proto != svc.proto:
        return False, False
    if svc.proto in PORT_PROTOCOLS:  # replies go to the client's ephemeral port
        return esvc.lo <= EPHEMERAL[1] and esvc.hi >= EPHEMERAL[0], esvc.lo <= EPHEMERAL[0] and esvc.hi >= EPHEMERAL[1]
    whole = Svc.whole(svc.proto)  # ICMP and other protocols: replies of the same protocol
    return True, (esvc.lo, esvc.hi) == (whole.lo, whole.hi)


def reply_split(rule: Rule, egress: bool, other: Ruleset) -> tuple[IntervalSet, str]:
    """The remote addresses of RULE whose replies OTHER (the other direction's entries, in first-match
    order) surely lets through, and why the rest may be dropped: an address is good when an entry
    taking every reply to it comes before any deny taking some."""
    left, good, why = _remote_of(rule, egress), IntervalSet(), []
    for e in other.rules:
        part = left & _remote_of(e, not egress)
        some, every = _reply_test(rule.services[0], e.services[0])
        if not part or not some:
            continue
        if e.action == DENY:
            why.append(f"{other.name} entry {e.id} denies some of them")
            left = left - part
        elif every:
            good, left = good | part, left - part
    if left:
        why.append(f"no {other.name} entry allows all of them (the final * entry denies the rest)")
    return good, "; ".join(why)


def _stateless(ingress: Ruleset, egress: Ruleset) -> None:
    """Each allow split where the other direction may drop its replies (see the module docstring): the part
    whose replies pass keeps the rule's id; the rest carries a condition (left denied and reported)."""
    splits = {
        id(rule): reply_split(rule, is_egress, other)
        for rs, other, is_egress in ((ingress, egress, False), (egress, ingress, True))
        for rule in rs.rules
        if rule.action == ALLOW
    }  # from the entries as read, before either direction is split
    for rs, other, is_egress in ((ingress, egress, False), (egress, ingress, True)):
        out = []
        for rule in rs.rules:
            if rule.action != ALLOW:
                out.append(rule)
                continue
            remote = _remote_of(rule, is_egress)
            good, why = splits[id(rule)]
            if good == remote:
                out.append(rule)
                continue
            if good:
                out.append(_with_remote(rule, is_egress, good, rule.id))
            ports = (
                f" to ports {EPHEMERAL[0]}-{EPHEMERAL[1]}" if rule.services[0].proto in (None, *PORT_PROTOCOLS) else ""
            )
            cond = Condition(f"replies through {other.name}{ports}", f"network ACLs are stateless and {why}")
            bad = _with_remote(rule, is_egress, remote - good, f"{rule.id}/replies-dropped" if good else rule.id)
            bad.conditions += (cond,)
            out.append(bad)
        rs.rules = out


def _with_remote(rule: Rule, egress: bool, region: IntervalSet, rid: str) -> Rule:
    loc = (rule.dst if egress else rule.src).include[0].loc
    side = AddrExpr(tuple(with_loc(n, loc) for n in nets_of(region)))
    return replace(rule, id=rid, src=rule.src if egress else side, dst=side if egress else rule.dst)


def load(text: str, path: str, host_addresses=None, **_options) -> list[Ruleset]:
    doc = Doc(text, path)
    out = []
    for acl in _acls(doc):
        ingress, egress = _ruleset(doc, acl, False, host_addresses), _ruleset(doc, acl, True, host_addresses)
        _stateless(ingress, egress)
        out += [ingress, egress]
    return out
