"""Load NetworkPolicy manifests: multi-document YAML, JSON, a `List`, or a directory.

Every NetworkPolicy is validated before use, field by field, as the API server validates
networking.k8s.io/v1 (types, names and labels, selectors, CIDRs, ports and protocols): a bad field
is an InputError naming its place (file:line:column) and its path (`spec.ingress[0].from[1].ipBlock.cidr`).
"""

from __future__ import annotations

from pathlib import Path

import netaddr

from ..errors import InputError, Loc, line_of
from ..io.text import read_text
from ..io.yamlfast import load_all_plain
from ..io.yamlio import LDict, load_all, loc_of
from .names import ascii_number, is_dns_label, is_dns_subdomain, is_port_name, label_key_error, label_value_error

SUFFIXES = (".yaml", ".yml", ".json")
PROTOCOLS = ("TCP", "UDP", "SCTP")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
POLICY_TYPES = ("Ingress", "Egress")
SPEC_FIELDS = ("podSelector", "ingress", "egress", "policyTypes")
SELECTOR_FIELDS = ("matchLabels", "matchExpressions")
PEER_FIELDS = ("podSelector", "namespaceSelector", "ipBlock")
PORT_FIELDS = ("protocol", "port", "endPort")


def load_policies(path: str, kinds=frozenset()) -> list[dict]:
    """Every NetworkPolicy in PATH (a file or a directory of manifests), in a stable order; also every
    document whose (apiVersion, kind) is in KINDS (an ordered target's, checked by its evaluator)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES)
        if not files:
            raise InputError("no .yaml, .yml or .json manifests in this directory", Loc(path))
        return [pol for f in files for pol in load_policy_text(read_text(str(f)), str(f), kinds)]
    return load_policy_text(read_text(path), path, kinds)


def load_policy_text(text: str, path: str, kinds=frozenset()) -> list[dict]:
    """NetworkPolicies in TEXT; other kinds are skipped, malformed policies rejected.

    Plain YAML is read first without locations (io.yamlfast); any error, or YAML it does not take,
    reads TEXT again with them, so every error is the one the full loader places."""
    if not _is_json(text, path):
        docs = load_all_plain(text)
        if docs is not None:
            try:
                return _policies([d for d in docs if d is not None], text, path, kinds)
            except InputError:
                pass
    return _policies(_documents(text, path), text, path, kinds)


def _policies(docs: list, text: str, path: str, kinds=frozenset()) -> list[dict]:
    out: list[dict] = []
    for doc in docs:
        _collect(doc, path, text, out, "", kinds)
    return out


def _is_json(text: str, path: str) -> bool:
    return path.endswith(".json") or text.lstrip().startswith(("{", "["))


def _documents(text: str, path: str) -> list:
    if _is_json(text, path):
        from ..io.jsonsrc import parse_json

        data = parse_json(text, path)  # keeps locations; bounded nesting; numbers of bounded length
        return data if isinstance(data, list) else [data]
    return [d for d in load_all(text, path) if d is not None]


def _fail(text: str, path: str, msg: str, obj, key=None) -> InputError:
    loc = loc_of(obj, key) or Loc(path)
    return InputError(msg, loc, line_of(text, loc.line) if loc.line else None)


def _collect(doc, path: str, text: str, out: list, where: str, kinds=frozenset()) -> None:
    if not isinstance(doc, dict):
        raise _fail(text, path, f"{where or 'a document'}: expected a Kubernetes object (a mapping)", doc)
    kind = doc.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise _fail(text, path, f"{where}kind must be a string, not {_what(kind)}", doc, "kind")
    api = doc.get("apiVersion")
    if api is not None and not isinstance(api, str):  # (apiVersion, kind) is looked up in KINDS: hashable
        raise _fail(text, path, f"{where}apiVersion must be a string, not {_what(api)}", doc, "apiVersion")
    if kind == "List" or (kind or "").endswith("List"):
        items = doc.get("items") or []
        if not isinstance(items, list):
            raise _fail(text, path, f"{where}items: a List needs an items list, not {_what(items)}", doc, "items")
        for i, item in enumerate(items):
            _collect(item, path, text, out, f"{where}items[{i}].", kinds)
        return
    if (api, kind) in kinds:
        out.append(doc)
        return
    if kind != "NetworkPolicy":
        return
    _Checker(text, path).policy(doc, where)
    out.append(doc)


def _what(v) -> str:
    """V's YAML type, for messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"a boolean ({v})"
    if isinstance(v, int):
        return "an integer" if abs(v) > 10**12 else f"an integer ({v})"
    if isinstance(v, float):
        return f"a number ({v!r})"
    if isinstance(v, str):
        return f"a string ({v[:40]!r})" if len(v) <= 40 else f"a string ({v[:40]!r}...)"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    return type(v).__name__


def _cidr(text) -> netaddr.IPNetwork | None:
    """TEXT as ADDRESS/PREFIX (ASCII, the address in standard notation), or None."""
    if not isinstance(text, str) or not text.isascii():
        return None
    addr, sep, plen = text.partition("/")
    n = ascii_number(plen)
    if not sep or n is None:
        return None
    try:
        ip = netaddr.IPAddress(addr, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None
    if n > (32 if ip.version == 4 else 128):
        return None
    return netaddr.IPNetwork(f"{ip}/{n}")


class _Checker:
    """Checks one NetworkPolicy; each failure names the field path and its place."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.name = ""

    def fail(self, field: str, msg: str, parent, key=None) -> InputError:
        if isinstance(parent, LDict) and key in parent.key_locs:
            loc = parent.key_locs[key]
        else:
            value = parent.get(key) if isinstance(parent, dict) else None
            loc = getattr(value, "loc", None) or getattr(parent, "loc", None) or Loc(self.path)
        who = f"NetworkPolicy {self.name}: " if self.name else ""
        return InputError(f"{who}{field}: {msg}", loc, line_of(self.text, loc.line) if loc.line else None)

    def item_fail(self, field: str, msg: str, lst, i: int) -> InputError:
        item = lst[i]
        loc = getattr(item, "loc", None) or getattr(lst, "loc", None) or Loc(self.path)
        who = f"NetworkPolicy {self.name}: " if self.name else ""
        return InputError(f"{who}{field}: {msg}", loc, line_of(self.text, loc.line) if loc.line else None)

    # --- shapes -------------------------------------------------------------

    def mapping(self, parent: dict, key: str, field: str, fields: tuple | None = None) -> dict:
        """PARENT[KEY] as a mapping ({} when absent or null), with only FIELDS as keys."""
        v = parent.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.fail(field, f"must be a mapping, not {_what(v)}", parent, key)
        if fields is not None:
            for k in v:
                if k not in fields:
                    raise self.fail(f"{field}.{k}", f"unknown field (expected {', '.join(fields)})", v, k)
        return v

    def item(self, items: list, j: int, at: str, fields: tuple, head: str) -> dict:
        """ITEMS[J] as a mapping with only FIELDS as keys; HEAD says what it must be ('a peer must be a mapping')."""
        v = items[j]
        if not isinstance(v, dict):
            raise self.item_fail(at, f"{head}, not {_what(v)}", items, j)
        for k in v:
            if k not in fields:
                raise self.fail(f"{at}.{k}", f"unknown field (expected {', '.join(fields)})", v, k)
        return v

    def listing(self, parent: dict, key: str, field: str) -> list:
        v = parent.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(field, f"must be a list, not {_what(v)}", parent, key)
        return v

    def string(self, parent: dict, key: str, field: str) -> str | None:
        v = parent.get(key)
        if v is not None and not isinstance(v, str):
            raise self.fail(field, f"must be a string, not {_what(v)}", parent, key)
        return v

    # --- the object ---------------------------------------------------------

    def policy(self, doc: dict, where: str) -> None:
        api = doc.get("apiVersion")
        if api != "networking.k8s.io/v1":
            raise self.fail(
                f"{where}apiVersion",
                f"unsupported apiVersion {api!r} (expected networking.k8s.io/v1)",
                doc,
                "apiVersion",
            )
        if not isinstance(doc.get("metadata"), dict):
            raise self.fail(f"{where}metadata", "a NetworkPolicy needs metadata with a name", doc, "metadata")
        meta = doc["metadata"]
        name = meta.get("name")
        if not is_dns_subdomain(name):
            why = "is missing" if name is None else f"{_what(name)} is not a DNS-1123 subdomain"
            raise self.fail(
                f"{where}metadata.name",
                f"{why} (at most 253 of a-z, 0-9, '-' and '.', alphanumeric at both ends)",
                meta if "name" in meta else doc,
                "name" if "name" in meta else "metadata",
            )
        ns = meta.get("namespace", "default")
        if not is_dns_label(ns):
            raise self.fail(
                f"{where}metadata.namespace",
                f"{_what(ns)} is not a valid namespace name (a DNS-1123 label: at most 63 of a-z, 0-9 and '-')",
                meta,
                "namespace",
            )
        self.name = f"{ns}/{name}"
        self.labels(meta, "labels", f"{where}metadata.labels")
        annotations = self.mapping(meta, "annotations", f"{where}metadata.annotations")
        for k, v in annotations.items():
            err = label_key_error(k)
            if err:
                raise self.fail(
                    f"{where}metadata.annotations", err.replace("label key", "annotation key"), annotations, k
                )
            if not isinstance(v, str):
                raise self.fail(f"{where}metadata.annotations.{k}", f"must be a string, not {_what(v)}", annotations, k)
        spec = self.mapping(doc, "spec", f"{where}spec", SPEC_FIELDS)
        self.selector(spec, "podSelector", f"{where}spec.podSelector")
        for key in ("ingress", "egress"):
            self.rules(spec, key, f"{where}spec.{key}")
        types = self.listing(spec, "policyTypes", f"{where}spec.policyTypes")
        for i, t in enumerate(types):
            if t not in POLICY_TYPES:
                raise self.item_fail(f"{where}spec.policyTypes[{i}]", f"{_what(t)} must be Ingress or Egress", types, i)
            if t in types[:i]:
                raise self.item_fail(f"{where}spec.policyTypes[{i}]", f"{t} is listed twice", types, i)

    def labels(self, parent: dict, key: str, field: str) -> None:
        labels = self.mapping(parent, key, field)
        for k, v in labels.items():
            err = label_key_error(k) or label_value_error(v)
            if err:
                raise self.fail(f"{field}.{k}" if isinstance(k, str) else field, err, labels, k)

    def selector(self, parent: dict, key: str, field: str) -> None:
        """A LabelSelector: matchLabels, matchExpressions (key, operator, values)."""
        sel = self.mapping(parent, key, field, SELECTOR_FIELDS)
        if not sel:
            return
        self.labels(sel, "matchLabels", f"{field}.matchLabels")
        exprs = self.listing(sel, "matchExpressions", f"{field}.matchExpressions")
        for i, e in enumerate(exprs):
            at = f"{field}.matchExpressions[{i}]"
            fields = ("key", "operator", "values")
            e = self.item(exprs, i, at, fields, "must be a mapping (key, operator, values)")
            if "key" not in e:
                raise self.item_fail(at, "needs a key", exprs, i)
            err = label_key_error(e["key"])
            if err:
                raise self.fail(f"{at}.key", err, e, "key")
            op = e.get("operator")
            if op not in OPERATORS:
                raise self.fail(
                    f"{at}.operator",
                    f"{_what(op)} must be one of {', '.join(OPERATORS)}",
                    e if "operator" in e else exprs,
                    "operator",
                )
            values = self.listing(e, "values", f"{at}.values")
            if op in ("In", "NotIn") and not values:
                raise self.fail(
                    f"{at}.values",
                    f"operator {op} needs a non-empty values list",
                    e,
                    "values" if "values" in e else "operator",
                )
            if op in ("Exists", "DoesNotExist") and values:
                raise self.fail(f"{at}.values", f"operator {op} takes no values", e, "values")
            for j, v in enumerate(values):
                err = label_value_error(v)
                if err:
                    raise self.item_fail(f"{at}.values[{j}]", err, values, j)

    def rules(self, spec: dict, key: str, field: str) -> None:
        rules = self.listing(spec, key, field)
        peer_key = "from" if key == "ingress" else "to"
        for i, rule in enumerate(rules):
            at = f"{field}[{i}]"
            if rule is None:
                continue
            rule = self.item(rules, i, at, (peer_key, "ports"), f"a rule must be a mapping ({peer_key}, ports)")
            peers = self.listing(rule, peer_key, f"{at}.{peer_key}")
            for j in range(len(peers)):
                self.peer(peers, j, f"{at}.{peer_key}[{j}]")
            ports = self.listing(rule, "ports", f"{at}.ports")
            for j in range(len(ports)):
                self.port(ports, j, f"{at}.ports[{j}]")

    def peer(self, peers: list, j: int, at: str) -> None:
        peer = self.item(peers, j, at, PEER_FIELDS, "a peer must be a mapping")
        set_ = [k for k in PEER_FIELDS if peer.get(k) is not None]
        if not set_:
            raise self.item_fail(at, "a peer must set podSelector, namespaceSelector or ipBlock", peers, j)
        if "ipBlock" in set_ and len(set_) > 1:
            raise self.fail(f"{at}.ipBlock", "an ipBlock peer cannot also carry selectors", peer, "ipBlock")
        self.selector(peer, "podSelector", f"{at}.podSelector")
        self.selector(peer, "namespaceSelector", f"{at}.namespaceSelector")
        if "ipBlock" in set_:
            self.ip_block(peer, f"{at}.ipBlock")

    def ip_block(self, peer: dict, at: str) -> None:
        block = self.mapping(peer, "ipBlock", at, ("cidr", "except"))
        if "cidr" not in block:
            raise self.fail(f"{at}.cidr", "an ipBlock needs a cidr", peer, "ipBlock")
        net = _cidr(block["cidr"])
        if net is None:
            raise self.fail(f"{at}.cidr", f"{_what(block['cidr'])} is not a valid CIDR (ADDRESS/PREFIX)", block, "cidr")
        excepts = self.listing(block, "except", f"{at}.except")
        for i, e in enumerate(excepts):
            ex = _cidr(e)
            if ex is None:
                raise self.item_fail(
                    f"{at}.except[{i}]", f"{_what(e)} is not a valid CIDR (ADDRESS/PREFIX)", excepts, i
                )
            if ex.version != net.version or ex.prefixlen <= net.prefixlen or ex.ip not in net:
                raise self.item_fail(
                    f"{at}.except[{i}]", f"{e} must be a strict subset of cidr {block['cidr']}", excepts, i
                )

    def port(self, ports: list, j: int, at: str) -> None:
        entry = self.item(ports, j, at, PORT_FIELDS, "must be a mapping (protocol, port, endPort)")
        proto = entry.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            raise self.fail(f"{at}.protocol", f"{_what(proto)} must be TCP, UDP or SCTP", entry, "protocol")
        port = entry.get("port")
        if isinstance(port, str):
            if not is_port_name(port):
                hint = " (write a number unquoted)" if ascii_number(port) is not None else ""
                raise self.fail(
                    f"{at}.port",
                    f"{_what(port)} is neither a number 1-65535 nor a named port (an IANA service name: at most 15 "
                    f"of a-z, 0-9 and '-', with a letter){hint}",
                    entry,
                    "port",
                )
        elif port is not None and not _port_number(port):
            raise self.fail(f"{at}.port", f"{_what(port)} must be a port number 1-65535 or a port name", entry, "port")
        end = entry.get("endPort")
        if end is None:
            return
        if not _port_number(end):
            raise self.fail(f"{at}.endPort", f"{_what(end)} must be a port number 1-65535", entry, "endPort")
        if not _port_number(port):
            raise self.fail(f"{at}.endPort", "endPort needs a numeric port", entry, "endPort")
        if end < port:
            raise self.fail(f"{at}.endPort", f"endPort {end} is below port {port}", entry, "endPort")


def _port_number(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535
