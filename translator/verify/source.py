"""What the policies test (`PolicySource`): selectors, ipBlocks, ports and names, read once."""

from __future__ import annotations

from dataclasses import dataclass, field

import netaddr

from ..errors import InputError, Loc, line_of
from ..io.yamlio import loc_of
from ..model.inventory import NAME_LABEL
from ..model.names import is_digits
from .selectors import OPS, Sel, freeze, text_value

PROTO_BY_NAME = {"TCP": 6, "UDP": 17, "SCTP": 132}


def parse_selector(obj, src: PolicySource) -> Sel:
    """A Sel from a LabelSelector dict (InputError on an unknown operator)."""
    obj = obj or {}
    if not isinstance(obj, dict):
        raise src.fail("a label selector must be a mapping", obj)
    reqs = []
    for k, v in (obj.get("matchLabels") or {}).items():
        reqs.append((str(k), "In", frozenset([text_value(v)])))
    for e in obj.get("matchExpressions") or []:
        if not isinstance(e, dict) or e.get("operator") not in OPS or "key" not in e:
            raise src.fail(f"a matchExpressions entry needs a key and an operator ({', '.join(OPS)})", e)
        reqs.append((str(e["key"]), e["operator"], frozenset(text_value(x) for x in e.get("values") or [])))
    return Sel(tuple(sorted(reqs, key=lambda r: (r[0], r[1], sorted(r[2])))))


@dataclass
class PolicySource:
    """What the policies test: selectors, ipBlocks, ports and names."""

    policies: list[dict]
    ns_of: list[str] = field(default_factory=list)
    targets: list[tuple[str, Sel]] = field(default_factory=list)  # (namespace, podSelector)
    peers: list[tuple[str, Sel | None, Sel | None]] = field(default_factory=list)  # (policy ns, nsSel, podSel)
    blocks: list[tuple[int, int, int]] = field(default_factory=list)  # (version, first, last)
    ports: list[tuple[int, int, int]] = field(default_factory=list)  # (proto, lo, hi)
    protos: set[int] = field(default_factory=set)
    port_names: set[tuple[str, int]] = field(default_factory=set)  # (name, proto)
    _distinct: list | None = None
    _keys: dict = field(default_factory=dict)

    def key(self, obj) -> str:
        """freeze(OBJ), once per object (the object is held, so its id stays its own)."""
        hit = self._keys.get(id(obj))
        if hit is None or hit[0] is not obj:
            hit = self._keys[id(obj)] = (obj, freeze(obj))
        return hit[1]

    def extend(self, other: PolicySource) -> PolicySource:
        """Add what OTHER tests to what this one tests; this one."""
        self.ns_of += other.ns_of
        self.targets += other.targets
        self.peers += other.peers
        self.blocks += other.blocks
        self.ports += other.ports
        self.protos |= other.protos
        self.port_names |= other.port_names
        return self

    def fail(self, msg: str, obj) -> InputError:
        loc = loc_of(obj) or Loc("<policies>")
        return InputError(msg, loc, _source_line(loc))

    def scan(self) -> PolicySource:
        """Read every policy; a peer or port entry equal to one already read adds nothing and is skipped."""
        seen_lists: set = set()
        seen_peers: set = set()
        seen_ports: set = set()
        for pol in self.policies:
            ns = (pol.get("metadata") or {}).get("namespace") or "default"
            spec = pol.get("spec") or {}
            self.ns_of.append(ns)
            self.targets.append((ns, parse_selector(spec.get("podSelector"), self)))
            for key, peer_key in (("ingress", "from"), ("egress", "to")):
                for rule in spec.get(key) or []:
                    rule = rule or {}
                    peers, ports = rule.get(peer_key), rule.get("ports")
                    if peers and self._first(seen_lists, (ns, self.key(peers))):
                        for peer in peers:
                            if self._first(seen_peers, (ns, self.key(peer))):
                                self.peer(ns, peer)
                    if ports and self._first(seen_lists, self.key(ports)):
                        for entry in ports:
                            if self._first(seen_ports, self.key(entry)):
                                self.port(entry)
        return self

    @staticmethod
    def _first(seen: set, key) -> bool:
        if key in seen:
            return False
        seen.add(key)
        return True

    def peer(self, ns: str, peer: dict) -> None:
        if peer.get("ipBlock") is not None:
            block = peer["ipBlock"]
            if not isinstance(block, dict) or "cidr" not in block:
                raise self.fail("an ipBlock needs a cidr", block)
            for c in [block["cidr"]] + list(block.get("except") or []):
                try:
                    net = netaddr.IPNetwork(str(c))
                except (netaddr.AddrFormatError, ValueError, TypeError):
                    raise self.fail(f"ipBlock: {c!r} is not a valid CIDR", block) from None
                self.blocks.append((net.version, int(net.first), int(net.last)))
            return
        ns_sel = peer.get("namespaceSelector")
        pod_sel = peer.get("podSelector")
        self.peers.append(
            (
                ns,
                None if ns_sel is None else parse_selector(ns_sel, self),
                None if pod_sel is None else parse_selector(pod_sel, self),
            )
        )

    def port(self, entry: dict) -> None:
        proto = PROTO_BY_NAME.get(str(entry.get("protocol") or "TCP").upper())
        if proto is None:
            raise self.fail(f"protocol {entry.get('protocol')!r} must be TCP, UDP or SCTP", entry)
        self.protos.add(proto)
        p = entry.get("port")
        if p is None:
            return
        if isinstance(p, str) and not is_digits(p):
            self.port_names.add((p, proto))
            return
        try:
            lo = int(p)
            hi = int(entry.get("endPort", lo))
        except (TypeError, ValueError):
            raise self.fail(f"bad port {p!r}", entry) from None
        self.ports.append((proto, max(1, lo), min(65535, hi)))

    def distinct_peers(self) -> list[tuple[str, Sel | None, Sel | None]]:
        if self._distinct is None:
            self._distinct = list(dict.fromkeys(self.peers))
        return self._distinct

    def ns_names(self) -> set[str]:
        """Namespaces named by the policies (their own, and kubernetes.io/metadata.name tests)."""
        names = set(self.ns_of)
        for _, ns_sel, _ in self.peers:
            for k, _, vals in ns_sel.reqs if ns_sel else ():
                if k == NAME_LABEL:
                    names |= vals
        return names

    def ns_selectors(self) -> list[Sel]:
        return list(dict.fromkeys(s for _, s, _ in self.peers if s is not None))


def _source_line(loc: Loc) -> str | None:
    if not loc.line:
        return None
    try:
        with open(loc.file, encoding="utf-8-sig") as fh:
            return line_of(fh.read(), loc.line)
    except OSError:
        return None
