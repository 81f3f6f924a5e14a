"""The inventory: legacy addresses mapped to Kubernetes workloads (YAML)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import netaddr

from ..errors import InputError, Loc, line_of
from ..io.yamlio import LDict, load_all, loc_of
from .names import ascii_number, is_dns_label, is_port_name, label_key_error, label_value_error

NAME_LABEL = "kubernetes.io/metadata.name"
# an Azure resource name as the platform allows it for an application security group
ASG_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?")
WORKLOAD_FIELDS = ("namespace", "labels", "addresses", "ports", "applicationSecurityGroups", "zone")


@dataclass
class Workload:
    name: str
    namespace: str
    labels: dict[str, str]
    addresses: list[str]
    ports: dict[str, tuple[str, int]] = field(default_factory=dict)
    loc: Loc | None = None
    # Azure application security groups (groups of NICs) whose NICs this workload replaces
    application_security_groups: list[str] = field(default_factory=list)
    # the firewall zone (Junos SRX, PAN-OS, FortiGate) the workload's legacy addresses sit in
    zone: str | None = None


@dataclass
class Inventory:
    source: str
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    workloads: dict[str, Workload] = field(default_factory=dict)
    pod_cidrs: list[str] = field(default_factory=list)
    service_cidrs: list[str] = field(default_factory=list)

    def namespace_labels(self, ns: str) -> dict[str, str]:
        """Labels of NS, with the automatic kubernetes.io/metadata.name."""
        return {**self.namespaces.get(ns, {}), NAME_LABEL: ns}

    def workloads_in(self, ns: str) -> list[Workload]:
        return [w for w in self.workloads.values() if w.namespace == ns]


class _Checker:
    def __init__(self, text: str, path: str):
        self.text, self.path = text, path

    def fail(self, msg: str, loc: Loc | None) -> InputError:
        loc = loc or Loc(self.path)
        return InputError(msg, loc, line_of(self.text, loc.line) if loc.line else None)

    def mapping(self, obj, what: str, loc) -> dict:
        if obj is None:
            return LDict()
        if not isinstance(obj, dict):
            raise self.fail(f"{what} must be a mapping", getattr(obj, "loc", loc))
        return obj

    def labels(self, obj, what: str, loc) -> dict[str, str]:
        obj = self.mapping(obj, what, loc)
        for k, v in obj.items():
            err = label_key_error(k) or label_value_error(v)
            if err:
                raise self.fail(f"{what}: {err}", loc_of(obj, k, loc))
        return dict(obj)

    def cidrs(self, obj, what: str, loc) -> list[str]:
        if obj is None:
            return []
        if not isinstance(obj, list):
            raise self.fail(f"{what} must be a list of CIDRs", loc)
        out = []
        for c in obj:
            try:
                out.append(str(netaddr.IPNetwork(str(c)).cidr))
            except (netaddr.AddrFormatError, ValueError, TypeError):
                raise self.fail(f"{what}: {c!r} is not a valid CIDR", getattr(obj, "loc", loc)) from None
        return out


def parse_inventory(text: str, path: str = "<inventory>") -> Inventory:
    """Parse and check an inventory (InputError with the YAML line on bad input)."""
    chk = _Checker(text, path)
    docs = [d for d in load_all(text, path) if d is not None]
    if len(docs) != 1:
        raise chk.fail("the inventory must be one YAML document", Loc(path, 1))
    top = chk.mapping(docs[0], "the inventory", Loc(path, 1))
    unknown = set(top) - {"namespaces", "workloads", "cluster"}
    if unknown:
        k = sorted(unknown, key=str)[0]
        raise chk.fail(f"unknown inventory section {k!r} (expected namespaces, workloads, cluster)", loc_of(top, k))
    inv = Inventory(source=path)
    cluster = chk.mapping(top.get("cluster"), "cluster", loc_of(top, "cluster"))
    for k in cluster:
        if k not in ("podCIDRs", "serviceCIDRs"):
            raise chk.fail(f"unknown cluster field {k!r} (expected podCIDRs, serviceCIDRs)", loc_of(cluster, k))
    inv.pod_cidrs = chk.cidrs(cluster.get("podCIDRs"), "podCIDRs", loc_of(cluster, "podCIDRs"))
    inv.service_cidrs = chk.cidrs(cluster.get("serviceCIDRs"), "serviceCIDRs", loc_of(cluster, "serviceCIDRs"))

    nss = chk.mapping(top.get("namespaces"), "namespaces", loc_of(top, "namespaces"))
    for ns, spec in nss.items():
        nloc = loc_of(nss, ns)
        if not is_dns_label(ns):
            raise chk.fail(
                f"namespace name {ns!r} is not a valid DNS-1123 label (at most 63 of a-z, 0-9 and '-', "
                "alphanumeric at both ends)",
                nloc,
            )
        spec = chk.mapping(spec, f"namespace {ns}", nloc)
        for k in spec:
            if k != "labels":
                raise chk.fail(f"unknown namespace field {k!r} (expected labels)", loc_of(spec, k))
        inv.namespaces[ns] = chk.labels(spec.get("labels"), f"namespace {ns} labels", nloc)

    wls = chk.mapping(top.get("workloads"), "workloads", loc_of(top, "workloads"))
    for name, spec in wls.items():
        wloc = loc_of(wls, name)
        if not isinstance(name, str) or not name or not name.isprintable() or name != name.strip():
            raise chk.fail(
                f"workload name {name!r} must be a non-empty string of printable characters "
                "(no control characters, no leading or trailing space)",
                wloc,
            )
        spec = chk.mapping(spec, f"workload {name}", wloc)
        for k in spec:
            if k not in WORKLOAD_FIELDS:
                raise chk.fail(f"unknown workload field {k!r} (expected {', '.join(WORKLOAD_FIELDS)})", loc_of(spec, k))
        ns = spec.get("namespace")
        if not is_dns_label(ns):
            raise chk.fail(
                f"workload {name}: namespace must be a valid DNS-1123 label, got {ns!r}",
                loc_of(spec, "namespace", wloc),
            )
        labels = chk.labels(spec.get("labels"), f"workload {name} labels", loc_of(spec, "labels", wloc))
        if not labels:
            raise chk.fail(f"workload {name}: needs at least one pod label", loc_of(spec, "labels", wloc))
        addrs = spec.get("addresses") or []
        if isinstance(addrs, str):
            addrs = [addrs]
        if not isinstance(addrs, list) or not all(isinstance(a, str) for a in addrs):
            raise chk.fail(
                f"workload {name}: addresses must be a list of CIDRs, ranges or object names",
                loc_of(spec, "addresses", wloc),
            )
        ports = {}
        pspec = chk.mapping(spec.get("ports"), f"workload {name} ports", wloc)
        for pname, pval in pspec.items():
            if not is_port_name(pname):
                raise chk.fail(
                    f"workload {name}: port name {pname!r} must be an IANA service name (at most 15 of a-z, 0-9 "
                    "and single inner '-', with at least one letter), as a container port's name",
                    loc_of(pspec, pname),
                )
            proto, num = _port(pval)
            if proto is None:
                raise chk.fail(
                    f"workload {name}: port {pname!r} must be a number 1-65535 or tcp/N, udp/N, sctp/N, got {pval!r}",
                    loc_of(pspec, pname),
                )
            ports[pname] = (proto, num)
        asgs = _asgs(chk, spec, name, wloc)
        zone = spec.get("zone")
        if zone is not None and (not isinstance(zone, str) or not zone.strip() or zone != zone.strip()):
            raise chk.fail(f"workload {name}: zone must be a zone name, got {zone!r}", loc_of(spec, "zone", wloc))
        inv.workloads[name] = Workload(name, ns, labels, list(addrs), ports, wloc, asgs, zone)
        inv.namespaces.setdefault(ns, {})

    _check_disjoint(inv, chk)
    return inv


def _port(val) -> tuple[str | None, int]:
    """A named port's value: N (TCP) or PROTO/N, N in ASCII digits 1-65535; (None, 0) when bad."""
    if isinstance(val, bool):
        return None, 0
    if isinstance(val, int):
        proto, num = "TCP", val
    elif isinstance(val, str):
        head, sep, tail = val.partition("/")
        # ASCII only: "ſctp".upper() is "SCTP"
        proto, num = (
            (head.upper() if head.isascii() else None, ascii_number(tail)) if sep else ("TCP", ascii_number(val))
        )
    else:
        return None, 0
    if proto not in ("TCP", "UDP", "SCTP") or num is None or not 1 <= num <= 65535:
        return None, 0
    return proto, num


def _asgs(chk: _Checker, spec, name: str, wloc) -> list[str]:
    """A workload's applicationSecurityGroups: Azure ASG names (a string or a list of them)."""
    val = spec.get("applicationSecurityGroups")
    loc = loc_of(spec, "applicationSecurityGroups", wloc)
    if val is None:
        return []
    if isinstance(val, str):
        val = [val]
    if not isinstance(val, list):
        raise chk.fail(f"workload {name}: applicationSecurityGroups must be a list of Azure ASG names", loc)
    out: list[str] = []
    for a in val:
        if not isinstance(a, str) or not ASG_NAME.fullmatch(a):
            raise chk.fail(
                f"workload {name}: applicationSecurityGroups: {a!r} is not an application security group name "
                "(1-80 letters, digits, '_', '.', '-'; starting with a letter or digit)",
                loc,
            )
        if a.lower() in (b.lower() for b in out):
            raise chk.fail(f"workload {name}: applicationSecurityGroups lists {a!r} twice", loc)
        out.append(a)
    return out


def _check_disjoint(inv: Inventory, chk: _Checker) -> None:
    """Two workloads of one namespace must not be able to select the same pod."""
    for ns in inv.namespaces:
        wl = inv.workloads_in(ns)
        for i, a in enumerate(wl):
            for b in wl[i + 1 :]:
                if all(a.labels[k] == b.labels[k] for k in a.labels.keys() & b.labels.keys()):
                    both = {**a.labels, **b.labels}
                    raise chk.fail(
                        f"workloads {a.name!r} and {b.name!r} overlap in namespace {ns}: a pod labelled "
                        f"{both} would belong to both (give them a label with different values)",
                        b.loc,
                    )


def load_inventory(path: str, sniff=None) -> Inventory:
    """The inventory at PATH. SNIFF(text, path): the ruleset format TEXT looks like (or None); when the
    text is no inventory and SNIFF names a format, the error says to pass the file as RULES."""
    from ..io.text import read_text

    text = read_text(path)
    try:
        return parse_inventory(text, path)
    except InputError:
        fmt = sniff(text, path) if sniff else None
        if fmt:
            raise InputError(f"{path} is not an inventory (it looks like {fmt}; pass it as RULES)") from None
        raise
