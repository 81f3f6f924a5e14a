"""Azure network security groups (ARM/REST JSON, `az network nsg show`, or a list of them).

One ruleset per NSG and direction (`<nsg>-inbound`, `<nsg>-outbound`), rules by
priority (lowest first), the default rules last (from `defaultSecurityRules`, or
the documented ones when the export has none).  Service tags and application
security groups have no addresses in the export: they become `Unresolved`.
"""

from __future__ import annotations

import json

from ..errors import Warning_
from ..io.jsonsrc import Doc, looks_like_json
from ..model.ruleset import (
    ALLOW,
    DENY,
    ICMP,
    ICMPV6,
    TCP,
    UDP,
    AddrExpr,
    AnyAddr,
    Condition,
    Rule,
    Ruleset,
    Svc,
    Unresolved,
)
from .common.cloud import host_side, port_svc, to_net, with_loc

NAME = "azure-nsg"

DEFAULT_RULES = (  # name, priority, direction, access, source, destination
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
)
PROTOCOLS = {"tcp": TCP, "udp": UDP, "icmp": ICMP, "esp": 50, "ah": 51}
ANY = {"*", "any"}


def detect(text: str, path: str) -> int:
    if not looks_like_json(text):
        return 0
    head = text[:200000]
    if '"securityRules"' in head or "Microsoft.Network/networkSecurityGroups" in head:
        return 90
    return 0


def _nsgs(doc: Doc) -> list:
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict) or not isinstance(_props(item).get("securityRules"), list):
            raise doc.fail(
                "expected an Azure network security group: an object with properties.securityRules (or securityRules)",
                item if isinstance(item, dict) else None,
            )
    return items


def _props(obj: dict) -> dict:
    p = obj.get("properties")
    return p if isinstance(p, dict) else obj


class _Nsg:
    def __init__(self, doc: Doc, nsg: dict, host_addresses):
        self.doc, self.nsg = doc, nsg
        self.name = str(nsg.get("name") or "nsg")
        self.host = host_side(host_addresses) if host_addresses else None
        self.warnings: dict[str, list[Warning_]] = {"Inbound": [], "Outbound": []}

    # addresses
    def addr_items(self, p: dict, side: str, star_is_host: bool, loc) -> tuple:
        doc, items = self.doc, []
        texts = []
        one = doc.get(p, f"{side}AddressPrefix", str)
        if one:
            texts.append((one, doc.loc(p, f"{side}AddressPrefix")))
        many = doc.get(p, f"{side}AddressPrefixes", list, [])
        texts += [(t, doc.loc(p, f"{side}AddressPrefixes")) for t in many]
        for text, tloc in texts:
            if not isinstance(text, str):
                raise doc.fail(f"{side}AddressPrefixes must hold strings", p, f"{side}AddressPrefixes")
            t = text.strip()
            if t.lower() in ANY:
                items += list(self.host.include) if (star_is_host and self.host) else [AnyAddr(None, tloc)]
            elif to_net(t) is not None:
                items.append(with_loc(to_net(t), tloc))
            else:
                items.append(Unresolved(t, f"Azure service tag {t!r}: its address ranges are not in the export", tloc))
        for asg in doc.get(p, f"{side}ApplicationSecurityGroups", list, []):
            aid = str(asg.get("id", "")) if isinstance(asg, dict) else str(asg)
            name = aid.rstrip("/").rsplit("/", 1)[-1] or "?"
            items.append(
                Unresolved(
                    f"asg:{name}",
                    f"application security group {name!r}: its members are not in the export",
                    doc.loc(asg),
                )
            )
        if not items:
            raise doc.fail(
                f"rule has no {side} address (expected {side}AddressPrefix(es) or {side}ApplicationSecurityGroups)", p
            )
        return tuple(items)

    # ports and protocol
    def port_specs(self, p: dict, side: str) -> list[str]:
        doc = self.doc
        specs = list(doc.get(p, f"{side}PortRanges", list, []))
        one = doc.get(p, f"{side}PortRange", (str, int))
        if one is not None:
            specs.append(one)
        specs = [str(s).strip() for s in specs]
        return [] if not specs or any(s in ANY for s in specs) else specs

    def services(self, p: dict, action: str, rid: str) -> tuple:
        doc = self.doc
        loc = doc.loc(p, "protocol")
        proto_text = str(doc.get(p, "protocol", str, required=True)).strip().lower()
        if proto_text not in ANY and proto_text not in PROTOCOLS:
            raise doc.fail(f"unknown protocol {proto_text!r} (expected Tcp, Udp, Icmp, Esp, Ah or *)", p, "protocol")
        ports = self.port_specs(p, "destination")
        direction = p.get("direction")
        protos = [TCP, UDP] if proto_text in ANY else [PROTOCOLS[proto_text]]
        if proto_text in ANY and not ports:
            return (Svc(None, 0, 0, "any", loc),)
        out: list = []
        for proto in protos:
            if proto not in (TCP, UDP):
                if ports:
                    self.warn(
                        direction, f"destination ports {','.join(ports)} ignored for protocol {proto_text}", p, rid
                    )
                out.append(Svc.whole(proto))
                continue
            for spec in ports or ["*"]:
                svc = port_svc(proto, spec, loc)
                if svc is None:
                    raise doc.fail(
                        f"bad destination port {spec!r} (expected a port 1-65535, a range such as 8000-8100, or *)",
                        p,
                        "destinationPortRange" if "destinationPortRange" in p else "destinationPortRanges",
                    )
                out.append(svc)
        if proto_text == "icmp":
            if action == DENY:
                out.append(Svc.whole(ICMPV6))
                self.warn(direction, "Icmp denied as both ICMP and ICMPv6", p, rid)
            else:
                self.warn(direction, "Icmp allowed as ICMP (IPv4) only, not ICMPv6", p, rid)
        if proto_text in ANY and action == DENY:
            out += [Svc.whole(n) for n in range(256) if n not in (TCP, UDP)]
            self.warn(
                direction,
                "protocol * with destination ports: other protocols than TCP and UDP are taken as denied too",
                p,
                rid,
            )
        return tuple(out)

    def warn(self, direction, msg, obj, rid) -> None:
        self.warnings.setdefault(direction, []).append(Warning_(msg, self.doc.loc(obj), rid))

    def objects(self, items: list) -> list:
        """ITEMS, each checked to be a JSON object."""
        for r in items:
            if not isinstance(r, dict):
                raise self.doc.fail(f"each security rule must be an object, got {json.dumps(r)[:40]}", items)
        return items

    # rules
    def rule(self, r: dict, default: bool) -> tuple[int, str, Rule]:
        doc, p = self.doc, _props(r)
        prio = doc.get(p, "priority", int, required=True)
        direction = doc.get(p, "direction", str, required=True)
        if direction not in ("Inbound", "Outbound"):
            raise doc.fail(f"direction must be Inbound or Outbound, got {direction!r}", p, "direction")
        access = str(doc.get(p, "access", str, required=True)).lower()
        if access not in (ALLOW, DENY):
            raise doc.fail(f"access must be Allow or Deny, got {p['access']!r}", p, "access")
        rid = str(r.get("name") or f"priority-{prio}")
        inbound = direction == "Inbound"
        src = AddrExpr(self.addr_items(p, "source", not inbound, doc.loc(r)))
        dst = AddrExpr(self.addr_items(p, "destination", inbound, doc.loc(r)))
        conditions = ()
        sports = self.port_specs(p, "source")
        if sports:
            conditions = (Condition(f"source port {','.join(sports)}", "source port match"),)
        desc = str(p.get("description") or "")
        comment = f"priority {prio}" + (" (default rule)" if default else "") + (f": {desc}" if desc else "")
        rule = Rule(
            id=rid,
            action=access,
            src=src,
            dst=dst,
            services=self.services(p, access, rid),
            loc=doc.loc(r),
            comment=comment,
            conditions=conditions,
        )
        return prio, direction, rule

    def default_rules(self) -> list[dict]:
        """The documented default rules, when the export does not list them."""
        from ..io.yamlio import LDict

        out = []
        for name, prio, direction, access, src, dst in DEFAULT_RULES:
            d = LDict(
                name=name,
                properties=LDict(
                    priority=prio,
                    direction=direction,
                    access=access,
                    protocol="*",
                    sourcePortRange="*",
                    destinationPortRange="*",
                    sourceAddressPrefix=src,
                    destinationAddressPrefix=dst,
                    description="Azure default rule (not in the export)",
                ),
            )
            d.loc = d["properties"].loc = self.nsg.loc
            out.append(d)
        return out

    def rulesets(self) -> list[Ruleset]:
        props = _props(self.nsg)
        rules = [self.rule(r, False) for r in self.objects(props["securityRules"])]
        defaults = props.get("defaultSecurityRules")
        if not isinstance(defaults, list) or not defaults:
            defaults = self.default_rules()
        defaults = self.objects(defaults)
        rules += [self.rule(r, True) for r in defaults]
        out = []
        for direction in ("Inbound", "Outbound"):
            mine = sorted((x for x in rules if x[1] == direction), key=lambda x: x[0])
            rs = Ruleset(
                name=f"{self.name}-{direction.lower()}", source=self.doc.path, default=DENY, text=self.doc.text
            )
            rs.directions = ("ingress",) if direction == "Inbound" else ("egress",)
            rs.protects = self.host
            seen: dict[int, str] = {}
            for prio, _, rule in mine:
                if prio in seen:
                    rs.warnings.append(
                        Warning_(
                            f"priority {prio} is also used by rule {seen[prio]}; keeping the export's order",
                            rule.loc,
                            rule.id,
                        )
                    )
                seen[prio] = rule.id
                rs.rules.append(rule)
            rs.warnings += self.warnings.get(direction, [])
            out.append(rs)
        return out


def load(text: str, path: str, host_addresses=None, **_options) -> list[Ruleset]:
    doc = Doc(text, path)
    out = []
    for nsg in _nsgs(doc):
        out += _Nsg(doc, nsg, host_addresses).rulesets()
    return out
