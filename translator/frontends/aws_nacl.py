"""AWS network ACLs (`aws ec2 describe-network-acls` JSON).

One ruleset per ACL and direction (`<NetworkAclId>-ingress`, `-egress`), entries
in RuleNumber order; rule 32767 is the final `*` deny, the ruleset's default.
`CidrBlock`/`Ipv6CidrBlock` is the remote side; the subnet side is the --host
workload's addresses, else any.  Security groups are refused: they are
stateful and unordered, not a first-match ruleset.
"""

from __future__ import annotations

from ..errors import Warning_
from ..io.jsonsrc import Doc, looks_like_json
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
from .common.cloud import host_side, port_svc, to_net, with_loc

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
    proto = names.get(text, int(text) if text.isdigit() else None)
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
            f"{action} {proto_label(int(e['Protocol'])) if str(e['Protocol']).isdigit() else 'all'} "
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


def load(text: str, path: str, host_addresses=None, **_options) -> list[Ruleset]:
    doc = Doc(text, path)
    out = []
    for acl in _acls(doc):
        out += [_ruleset(doc, acl, False, host_addresses), _ruleset(doc, acl, True, host_addresses)]
    return out
