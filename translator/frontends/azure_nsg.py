"""Azure network security groups: REST/ARM JSON, `az network nsg show|list`, ARM templates.

Shapes read: one NSG object (`properties.securityRules`, or `securityRules` at the top), a list of
them or `{"value": [...]}` (a list call), a REST API example (`responses` -> `"200"` (or `"201"`)
-> `body`), an export-template response (`{"template": ...}`) and an ARM template ("Export
template", quickstarts): every `Microsoft.Network/networkSecurityGroups` anywhere under
`resources` (nested child resources and `Microsoft.Resources/deployments` templates included),
with the `.../securityRules` resources (name `nsg/rule`, or `rule` nested in the NSG) added to
their NSG.  A rule resource that has the name of an inline rule replaces it (ARM deploys it after
the NSG): the inline one is skipped.

Template expressions are evaluated from the template alone: `parameters()` from the parameter's
`defaultValue`, `variables()`, `resourceId()` (the resource's own name), `concat()`, `format()`
and a few pure functions.  What depends on the deployment (`resourceGroup()`, a parameter without
a default, `reference()`, ...) is never guessed: in an address it is an `Unresolved` item, in a
port or protocol an `Unresolved` service (the compiler takes the secure side and reports it), in
a priority, direction or access an error.  Fields a rule does not read (location, tags) are left
alone.

One ruleset per NSG and direction (`<nsg>-inbound`, `<nsg>-outbound`), rules by
priority (lowest first), the default rules last (from `defaultSecurityRules`, or
the documented ones when the export has none).  `Ruleset.lines` counts the security rules seen
for that direction: the custom ones of the file (rules read plus rules skipped) and the three
default rules, listed or implied.  Service tags have no addresses in the export: they become
`Unresolved`.  An application security group (a group of NICs) stands for the legacy addresses
of the inventory workloads that list it under `applicationSecurityGroups` (`load(...,
inventory=INV)`); one that no workload lists, or that is read without an inventory, is
`Unresolved`.
"""

from __future__ import annotations

import json

from ..errors import Loc, Warning_
from ..io.jsonsrc import Doc, looks_like_json
from ..io.yamlio import LDict, LList
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
    Skipped,
    Svc,
    Unresolved,
)
from .common.arm import ArmTemplate, Unevaluated
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


# --- finding the NSGs ------------------------------------------------------------

NSG_TYPE = "microsoft.network/networksecuritygroups"
RULE_TYPE = NSG_TYPE + "/securityrules"
DEPLOYMENT_TYPE = "microsoft.resources/deployments"


class Found:
    """One NSG of the input: its object (expressions evaluated), and its separate rule resources."""

    def __init__(self, nsg: dict, name: str, template: bool):
        self.nsg, self.name, self.template = nsg, name, template
        self.children: list[dict] = []
        self.warnings: list[Warning_] = []


def _nsgs(doc: Doc) -> list[Found]:
    data = doc.data
    if isinstance(data, dict) and isinstance(data.get("responses"), dict):  # a REST API example
        data = _response_body(doc, data)
    if isinstance(data, dict) and isinstance(data.get("template"), dict) and "resources" in data["template"]:
        data = data["template"]  # an exportTemplate response
    if isinstance(data, dict) and "resources" in data and ("$schema" in data or "contentVersion" in data):
        return _Arm(doc).template(data)
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data = data["value"]
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(_props(item).get("securityRules"), list):
            raise doc.fail(
                "expected an Azure network security group: an object with properties.securityRules "
                "(or securityRules), a list of them, an ARM template or a REST API example",
                item if isinstance(item, dict) else None,
            )
        out.append(Found(item, str(item.get("name") or "nsg"), False))
    return out


def _response_body(doc: Doc, data: dict):
    """The NSG (or list) a REST API example answers with: responses -> 200 (or 201) -> body."""
    for code in ("200", "201"):
        resp = data["responses"].get(code)
        if isinstance(resp, dict) and isinstance(resp.get("body"), (dict, list)):
            return resp["body"]
    raise doc.fail(
        'REST API example without a response body: expected responses -> "200" -> body holding the NSG',
        data["responses"],
    )


class _Arm:
    """The NSGs of an ARM template, with their separate securityRules resources."""

    def __init__(self, doc: Doc):
        self.doc = doc
        self.found: list[Found] = []
        self.rules: list[tuple[str, dict, dict]] = []  # (nsg name, rule object, resource)

    def template(self, tpl: dict) -> list[Found]:
        self.walk(tpl, ArmTemplate(tpl), None)
        by_name = {f.name.lower(): f for f in self.found}
        for nsg_name, rule, res in self.rules:
            f = by_name.get(nsg_name.lower())
            if f is None:
                nsg = LDict(name=nsg_name, properties=LDict(securityRules=LList()))
                nsg.loc = nsg["properties"].loc = nsg["properties"]["securityRules"].loc = res.loc
                f = by_name[nsg_name.lower()] = Found(nsg, nsg_name, True)
                f.warnings.append(
                    Warning_(
                        f"the template adds rules to NSG {nsg_name!r} without defining it: its other rules are "
                        "not in the file (read as this template's rules and the default rules only)",
                        self.doc.loc(res),
                    )
                )
                self.found.append(f)
            f.children.append(rule)
        if not self.found:
            raise self.doc.fail(
                "the ARM template defines no network security group (no resource of type "
                "Microsoft.Network/networkSecurityGroups or .../securityRules)",
                tpl,
            )
        return self.found

    def walk(self, tpl: dict, ev: ArmTemplate, parent: tuple[str, str] | None) -> None:
        res = tpl.get("resources")
        items = list(res.values()) if isinstance(res, dict) else res if isinstance(res, list) else []
        for r in items:
            if isinstance(r, dict):
                self.resource(r, ev, parent)

    def resource(self, r: dict, ev: ArmTemplate, parent: tuple[str, str] | None) -> None:
        doc = self.doc
        rtype, name = ev.resolve(r.get("type")), ev.resolve(r.get("name"))
        if not isinstance(rtype, str) or isinstance(rtype, Unevaluated):
            return
        full = rtype if (parent is None or "/" in rtype) else f"{parent[0]}/{rtype}"
        name = name if isinstance(name, str) and not isinstance(name, Unevaluated) else None
        if parent is not None and name and "/" not in name:
            name = f"{parent[1]}/{name}"
        kind = full.lower()
        if kind in (NSG_TYPE, RULE_TYPE) and "copy" in r:
            raise doc.fail(
                f"ARM copy loops are not read ({rtype} {r.get('name')!r}): expand the template first "
                "(e.g. export the deployed NSG with az network nsg show)",
                r,
                "copy",
            )
        if kind == NSG_TYPE:
            nsg = ev.resolve(r)
            props = nsg.get("properties")
            if isinstance(props, dict) and "copy" in props:
                raise doc.fail(
                    "ARM property copy loops are not read: expand the template first "
                    "(e.g. export the deployed NSG with az network nsg show)",
                    props,
                    "copy",
                )
            if not isinstance(props, dict):
                props = LDict()
                props.loc = nsg.loc
                nsg["properties"] = props
            if props.get("securityRules") is None:
                props["securityRules"] = LList()
                props["securityRules"].loc = props.loc
            nsg_name = name or f"nsg{len(self.found) + 1}"
            nsg["name"] = nsg_name
            found = Found(nsg, nsg_name, True)
            if name is None:
                found.warnings.append(
                    Warning_(f"NSG name {r.get('name')!r} cannot be evaluated; called {nsg_name}", doc.loc(r))
                )
            self.found.append(found)
        elif kind == RULE_TYPE:
            if name is None or "/" not in name:
                raise doc.fail(
                    f"securityRules resource name {r.get('name')!r}: expected 'nsg/rule' (with its "
                    "expressions evaluable from the template)",
                    r,
                    "name",
                )
            nsg_name, rule_name = name.split("/")[0], name.rsplit("/", 1)[-1]
            rule = LDict(name=rule_name, properties=ev.resolve(r.get("properties"), doc.loc(r, "properties")))
            rule.loc, rule.key_locs = r.loc, dict(r.key_locs)
            self.rules.append((nsg_name, rule, r))
            return
        elif kind == DEPLOYMENT_TYPE:
            props = r.get("properties")
            inner = props.get("template") if isinstance(props, dict) else None
            if isinstance(inner, dict):
                self.walk(inner, self.nested_scope(props, inner, ev), None)
            return
        if name is not None:
            self.walk(r, ev, (full, name))

    @staticmethod
    def nested_scope(props: dict, inner: dict, outer: ArmTemplate) -> ArmTemplate:
        """How a nested deployment's template is evaluated: in the parent's scope unless scope is inner."""
        opts = props.get("expressionEvaluationOptions")
        if not (isinstance(opts, dict) and str(opts.get("scope", "")).lower() == "inner"):
            return outer
        ev = ArmTemplate(inner)
        given = props.get("parameters")
        for k, v in given.items() if isinstance(given, dict) else []:
            if isinstance(v, dict) and "value" in v and k in ev.params:
                ev.params = dict(ev.params)
                ev.params[k] = {"defaultValue": outer.resolve(v["value"])}
        return ev


def _props(obj: dict) -> dict:
    p = obj.get("properties")
    return p if isinstance(p, dict) else obj


class _Nsg:
    def __init__(self, doc: Doc, found: Found, host_addresses, inventory=None):
        self.doc, self.found, self.nsg = doc, found, found.nsg
        self.name = found.name
        self.host = host_side(host_addresses) if host_addresses else None
        self.inventory = inventory
        self.warnings: dict[str, list[Warning_]] = {"Inbound": [], "Outbound": []}

    # addresses
    def addr_items(self, p: dict, side: str, star_is_host: bool, loc) -> tuple:
        doc, items = self.doc, []
        texts = []
        one = p.get(f"{side}AddressPrefix")
        if one is not None and not isinstance(one, str):
            raise doc.fail(
                f"'{side}AddressPrefix' must be a string, got {json.dumps(one)[:40]}", p, f"{side}AddressPrefix"
            )
        if one:
            texts.append((one, doc.loc(p, f"{side}AddressPrefix")))
        many = p.get(f"{side}AddressPrefixes") or []
        mloc = doc.loc(p, f"{side}AddressPrefixes")
        if isinstance(many, Unevaluated):
            many = [many]
        if not isinstance(many, list):
            raise doc.fail(
                f"'{side}AddressPrefixes' must be a list, got {json.dumps(many)[:40]}", p, f"{side}AddressPrefixes"
            )
        texts += [(t, mloc) for t in many]
        for text, tloc in texts:
            if not isinstance(text, str):
                raise doc.fail(f"{side}AddressPrefixes must hold strings", p, f"{side}AddressPrefixes")
            t = text.strip()
            if isinstance(text, Unevaluated):
                items.append(Unresolved(t, f"ARM expression {t} has no value in the template: {text.reason}", tloc))
            elif t.lower() in ANY:
                items += list(self.host.include) if (star_is_host and self.host) else [AnyAddr(None, tloc)]
            elif to_net(t) is not None:
                items.append(with_loc(to_net(t), tloc))
            else:
                items.append(Unresolved(t, f"Azure service tag {t!r}: its address ranges are not in the export", tloc))
        asgs = p.get(f"{side}ApplicationSecurityGroups") or []
        aloc = doc.loc(p, f"{side}ApplicationSecurityGroups")
        if isinstance(asgs, Unevaluated):
            items.append(Unresolved(asgs, f"application security groups {asgs}: {asgs.reason}", aloc))
            asgs = []
        if not isinstance(asgs, list):
            raise doc.fail(f"'{side}ApplicationSecurityGroups' must be a list", p, f"{side}ApplicationSecurityGroups")
        for asg in asgs:
            items += self.asg_items(asg, doc.loc(asg) if isinstance(asg, dict) else aloc)
        if not items:
            raise doc.fail(
                f"rule has no {side} address (expected {side}AddressPrefix(es) or {side}ApplicationSecurityGroups)", p
            )
        return tuple(items)

    def asg_items(self, asg, loc) -> list:
        """An application security group: the legacy addresses of the workloads that list it, else Unresolved."""
        aid = asg.get("id", "") if isinstance(asg, dict) else asg
        if isinstance(aid, Unevaluated):
            return [Unresolved(aid, f"application security group {aid}: {aid.reason}", loc)]
        name = str(aid or "").rstrip("/").rsplit("/", 1)[-1] or "?"
        text = f"asg:{name}"
        if self.inventory is None:
            return [Unresolved(text, f"application security group {name!r}: its members are not in the export", loc)]
        wls = [
            w
            for w in self.inventory.workloads.values()
            if name.lower() in (a.lower() for a in getattr(w, "application_security_groups", ()))
        ]
        if not wls:
            return [
                Unresolved(
                    text,
                    f"application security group {name!r}: its members are not in the export and no inventory "
                    "workload lists it under applicationSecurityGroups",
                    loc,
                )
            ]
        out = []
        for w in sorted(wls, key=lambda w: w.name):
            nets = [to_net(str(a)) for a in w.addresses]
            if not nets or None in nets:
                why = "has no legacy addresses" if not nets else "has legacy addresses that are not IP addresses"
                return [
                    Unresolved(
                        text,
                        f"application security group {name!r}: workload {w.name} lists it but {why} "
                        "to stand for the group's NICs",
                        loc,
                    )
                ]
            out += [with_loc(n, loc) for n in nets]
        return out

    # ports and protocol
    def port_specs(self, p: dict, side: str) -> list[str] | Unevaluated:
        """The port specs of SIDE ([] for any), or the first one that cannot be evaluated."""
        doc = self.doc
        many = p.get(f"{side}PortRanges") or []
        if isinstance(many, Unevaluated):
            return many
        if not isinstance(many, list):
            raise doc.fail(f"'{side}PortRanges' must be a list, got {json.dumps(many)[:40]}", p, f"{side}PortRanges")
        specs = list(many)
        one = doc.get(p, f"{side}PortRange", (str, int))
        if one is not None:
            specs.append(one)
        for s in specs:
            if isinstance(s, Unevaluated):
                return s
        specs = [str(s).strip() for s in specs]
        return [] if not specs or any(s in ANY for s in specs) else specs

    def services(self, p: dict, action: str, rid: str) -> tuple:
        doc = self.doc
        loc = doc.loc(p, "protocol")
        proto_raw = doc.get(p, "protocol", str, required=True)
        if isinstance(proto_raw, Unevaluated):
            return (
                Unresolved(proto_raw, f"protocol {proto_raw} has no value in the template: {proto_raw.reason}", loc),
            )
        proto_text = str(proto_raw).strip().lower()
        if proto_text not in ANY and proto_text not in PROTOCOLS:
            raise doc.fail(f"unknown protocol {proto_text!r} (expected Tcp, Udp, Icmp, Esp, Ah or *)", p, "protocol")
        ports = self.port_specs(p, "destination")
        if isinstance(ports, Unevaluated):
            ploc = doc.loc(p, "destinationPortRange" if "destinationPortRange" in p else "destinationPortRanges")
            return (Unresolved(ports, f"destination port {ports} has no value in the template: {ports.reason}", ploc),)
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

    def known(self, p: dict, key: str, kind):
        """P[KEY], required, of KIND, and evaluable (a priority, direction or access is never guessed)."""
        val = p.get(key)
        if isinstance(val, Unevaluated):
            raise self.doc.fail(
                f"{key} {val} has no value in the template ({val.reason}): it cannot be guessed", p, key
            )
        return self.doc.get(p, key, kind, required=True)

    # rules
    def head(self, r: dict) -> tuple[int, str, str]:
        """(priority, direction, id) of rule R."""
        p = _props(r)
        prio = self.known(p, "priority", int)
        direction = self.known(p, "direction", str)
        if direction not in ("Inbound", "Outbound"):
            raise self.doc.fail(f"direction must be Inbound or Outbound, got {direction!r}", p, "direction")
        name = r.get("name")
        rid = str(name) if name and not isinstance(name, Unevaluated) else f"priority-{prio}"
        return prio, direction, rid

    def rule(self, r: dict, default: bool) -> tuple[int, str, Rule]:
        doc, p = self.doc, _props(r)
        prio, direction, rid = self.head(r)
        access = str(self.known(p, "access", str)).lower()
        if access not in (ALLOW, DENY):
            raise doc.fail(f"access must be Allow or Deny, got {p['access']!r}", p, "access")
        inbound = direction == "Inbound"
        src = AddrExpr(_of_default(self.addr_items(p, "source", not inbound, doc.loc(r)), default))
        dst = AddrExpr(_of_default(self.addr_items(p, "destination", inbound, doc.loc(r)), default))
        conditions = ()
        sports = self.port_specs(p, "source")
        if isinstance(sports, Unevaluated):
            conditions = (
                Condition(f"source port {sports}", f"source port match (no value in the template: {sports.reason})"),
            )
        elif sports:
            conditions = (Condition(f"source port {','.join(sports)}", "source port match"),)
        desc = p.get("description")
        desc = "" if not desc or isinstance(desc, Unevaluated) else str(desc)
        comment = f"priority {prio}" + (" (Azure default rule)" if default else "") + (f": {desc}" if desc else "")
        rule = Rule(
            id=rid,
            action=access,
            src=src,
            dst=dst,
            services=self.services(p, access, rid),
            loc=doc.loc(r),
            comment=comment,
            conditions=conditions,
            platform_default=default,
        )
        return prio, direction, rule

    def default_rules(self) -> list[dict]:
        """The documented default rules, when the export does not list them: at no line of the file."""
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
            d.loc = d["properties"].loc = Loc(self.doc.path)
            out.append(d)
        return out

    def custom(self) -> tuple[list[dict], list[tuple[str, Skipped]]]:
        """The custom rules in force, and (direction, Skipped) for the inline ones a rule resource replaces."""
        props = _props(self.nsg)
        inline = self.objects(props["securityRules"])
        children = self.objects(self.found.children)
        replaced = {}
        for c in children:
            name = c.get("name")
            if isinstance(name, str):
                replaced.setdefault(name.lower(), c)
        kept, skipped = [], []
        for r in inline:
            name = r.get("name")
            by = replaced.get(name.lower()) if isinstance(name, str) and not isinstance(name, Unevaluated) else None
            if by is None:
                kept.append(r)
                continue
            _, direction, rid = self.head(r)
            loc = self.doc.loc(by)
            reason = (
                f"replaced by the securityRules resource {self.name}/{by['name']} (line {loc.line}), "
                "which ARM deploys after the NSG: one rule per name"
            )
            skipped.append((direction, Skipped(rid, reason, self.doc.loc(r))))
        return kept + children, skipped

    def rulesets(self) -> list[Ruleset]:
        props = _props(self.nsg)
        kept, skipped = self.custom()
        rules = [self.rule(r, False) for r in kept]
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
            rs.skipped = [s for d, s in skipped if d == direction]
            rs.lines = len(rs.rules) + len(rs.skipped)  # custom rules seen plus the default rules
            rs.warnings += self.found.warnings + self.warnings.get(direction, [])
            out.append(rs)
        return out


def _of_default(items: tuple, default: bool) -> tuple:
    """ITEMS, an unresolved one saying it is in a default rule (Azure adds those to every NSG)."""
    if not default:
        return items
    return tuple(
        Unresolved(i.text, f"{i.reason} (in one of the default rules Azure adds to every NSG)", i.loc)
        if isinstance(i, Unresolved)
        else i
        for i in items
    )


def load(text: str, path: str, host_addresses=None, inventory=None, **_options) -> list[Ruleset]:
    """The rulesets of PATH; INVENTORY (optional) maps application security groups to workloads."""
    doc = Doc(text, path)
    out = []
    for found in _nsgs(doc):
        out += _Nsg(doc, found, host_addresses, inventory).rulesets()
    return out
