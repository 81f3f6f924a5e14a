"""Shared helpers of the cloud frontends: JSON with line numbers, addresses, ports.

`json.loads` keeps no positions, so `parse_json` is a small recursive-descent
reader (strings via the json module's own scanner) whose objects and arrays
are `yamlio.LDict` / `LList`: they carry the location of themselves and of
each key, for `file:line:col` messages.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right

import netaddr

from .. import limits
from ..errors import InputError, Loc, line_of
from ..model.ruleset import AddrExpr, AnyAddr, Net, Svc, port_domain
from ..model.space import ALL_IP, V6_BASE, IntervalSet
from .yamlio import LDict, LList

_WS = re.compile(r"[ \t\n\r]*")
_NUM = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_WORDS = {"true": True, "false": False, "null": None}


class _Reader:
    def __init__(self, text: str, path: str):
        self.s, self.path = text, path
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.depth, self.max_depth = 0, limits.max_depth()

    def loc(self, pos: int) -> Loc:
        line = bisect_right(self.starts, pos)
        return Loc(self.path, line, pos - self.starts[line - 1] + 1)

    def fail(self, msg: str, pos: int) -> InputError:
        loc = self.loc(pos)
        return InputError(f"invalid JSON: {msg}", loc, line_of(self.s, loc.line))

    def ws(self, i: int) -> int:
        return _WS.match(self.s, i).end()

    def string(self, i: int) -> tuple[str, int]:
        try:
            return json.decoder.scanstring(self.s, i + 1)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg.lower(), exc.pos) from None

    def value(self, i: int):
        i = self.ws(i)
        c = self.s[i:i + 1]
        if c in ("{", "["):
            self.depth += 1
            if self.depth > self.max_depth:
                loc = self.loc(i)
                raise limits.too_deep(loc, line_of(self.s, loc.line))
            out = self.obj(i) if c == "{" else self.arr(i)
            self.depth -= 1
            return out
        if c == '"':
            return self.string(i)
        m = _NUM.match(self.s, i)
        if m and m.end() > i:
            num = m.group(0)
            return (float(num) if m.group(1) or m.group(2) else int(num)), m.end()
        for word, val in _WORDS.items():
            if self.s.startswith(word, i):
                return val, i + len(word)
        what = "end of input" if not c else repr(c)
        raise self.fail(f"unexpected {what}; expected a value", i)

    def obj(self, i: int):
        out = LDict()
        out.loc, out.key_locs = self.loc(i), {}
        i = self.ws(i + 1)
        if self.s.startswith("}", i):
            return out, i + 1
        while True:
            if not self.s.startswith('"', i):
                raise self.fail("expected a quoted key", i)
            kpos = i
            key, i = self.string(i)
            i = self.ws(i)
            if not self.s.startswith(":", i):
                raise self.fail("expected ':' after the key", i)
            if key in out:
                raise self.fail(f"duplicate key {key!r}", kpos)
            out[key], i = self.value(i + 1)
            out.key_locs[key] = self.loc(kpos)
            i = self.ws(i)
            if self.s.startswith(",", i):
                i = self.ws(i + 1)
            elif self.s.startswith("}", i):
                return out, i + 1
            else:
                raise self.fail("expected ',' or '}'", i)

    def arr(self, i: int):
        out = LList()
        out.loc = self.loc(i)
        i = self.ws(i + 1)
        if self.s.startswith("]", i):
            return out, i + 1
        while True:
            val, i = self.value(i)
            out.append(val)
            i = self.ws(i)
            if self.s.startswith(",", i):
                i += 1
            elif self.s.startswith("]", i):
                return out, i + 1
            else:
                raise self.fail("expected ',' or ']'", i)


def parse_json(text: str, path: str):
    """TEXT as JSON, objects and arrays remembering their locations (InputError if bad)."""
    r = _Reader(text, path)
    val, i = r.value(0)
    i = r.ws(i)
    if i < len(text):
        raise r.fail("extra data after the JSON value", i)
    return val


def looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


class Doc:
    """A parsed export: its text and path, for locations and errors."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.data = parse_json(text, path)

    def loc(self, obj, key=None) -> Loc:
        if key is not None and isinstance(obj, LDict) and key in obj.key_locs:
            return obj.key_locs[key]
        return getattr(obj, "loc", None) or Loc(self.path)

    def fail(self, msg: str, obj=None, key=None) -> InputError:
        loc = self.loc(obj, key)
        return InputError(msg, loc, line_of(self.text, loc.line) if loc.line else None)

    def get(self, obj, key, kind, default=None, required=False):
        """OBJ[KEY] checked to be of KIND (a type or tuple of types)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            if required:
                raise self.fail(f"missing {key!r}", obj)
            return default
        val = obj[key]
        if not isinstance(val, kind) or (isinstance(val, bool) and kind in (int, (int, str))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            names = names.replace("str", "a string").replace("int", "a number").replace(
                "list", "a list").replace("dict", "an object").replace("bool", "true/false")
            raise self.fail(f"{key!r} must be {names}, got {json.dumps(val)[:40]}", obj, key)
        return val


# --- addresses --------------------------------------------------------------

ANY_WORDS = {"*", "any", "all", "0.0.0.0/0", "::/0", "internet/any"}


def to_net(text: str) -> Net | None:
    """A host, CIDR or a-b range as a Net; None if TEXT is not one."""
    text = text.strip()
    try:
        if "-" in text and "/" not in text:
            a, b = (netaddr.IPAddress(x.strip()) for x in text.split("-", 1))
            if a.version != b.version or a > b:
                return None
            return Net(int(a), int(b), a.version, text)
        if "/" in text:
            addr, plen = text.split("/", 1)
            ip = netaddr.IPAddress(addr)
            if not plen.isdigit() or int(plen) > (32 if ip.version == 4 else 128):
                return None
            net = netaddr.IPNetwork(text)
            return Net(int(net.first), int(net.last), net.version, str(net.cidr))
        if not re.fullmatch(r"[0-9a-fA-F.:]+", text) or text.isdigit():
            return None
        ip = netaddr.IPAddress(text)
        return Net(int(ip), int(ip), ip.version, text)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def with_loc(net: Net, loc: Loc | None) -> Net:
    return Net(net.first, net.last, net.version, net.text, loc)


def host_side(host_addresses, where: str = "--host") -> AddrExpr:
    """The protected host's addresses (from --host), or any address."""
    if not host_addresses:
        return AddrExpr.any()
    items = []
    for a in host_addresses:
        net = to_net(str(a))
        if net is None:
            raise InputError(f"{where}: workload address {a!r} is not an IP address, CIDR or range "
                             "(cloud exports have no named objects)")
        items.append(net)
    return AddrExpr(tuple(items))


def nets_of(region: IntervalSet) -> tuple[Net, ...]:
    """The Nets (CIDRs where exact, else ranges) covering an endpoint set of IP addresses."""
    out = []
    for lo, hi in region & ALL_IP:
        for base, version, a, b in ((0, 4, lo, min(hi, V6_BASE - 1)), (V6_BASE, 6, max(lo, V6_BASE), hi)):
            if a > b:
                continue
            first, last = a - base, b - base
            cidrs = netaddr.IPRange(netaddr.IPAddress(first, version), netaddr.IPAddress(last, version)).cidrs()
            text = str(cidrs[0]) if len(cidrs) == 1 else (
                f"{netaddr.IPAddress(first, version)}-{netaddr.IPAddress(last, version)}")
            out.append(Net(first, last, version, text))
    return tuple(out)


def restrict(expr: AddrExpr, region: IntervalSet) -> AddrExpr:
    """EXPR limited to the IP addresses of REGION (exact, also for lower/upper bounds)."""
    rest = ALL_IP - region
    if not rest:
        return expr
    return AddrExpr(expr.include, expr.exclude + nets_of(rest))


def any_addr(loc: Loc | None = None) -> AnyAddr:
    return AnyAddr(None, loc)


# --- services ---------------------------------------------------------------


def port_svc(proto: int, spec: str, loc: Loc | None = None) -> Svc | None:
    """tcp/udp/sctp port '80', '22-23' or '*' as a Svc; None if SPEC is malformed.

    Port 0 lies outside the universe (no flow uses it), so '0-65535' is all ports.
    """
    lo_dom, hi_dom = port_domain(proto)
    spec = str(spec).strip()
    if spec in ("*", "", "any", "all"):
        return Svc(proto, lo_dom, hi_dom, f"{_label(proto)}", loc)
    m = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", spec)
    if not m:
        return None
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo > hi or hi > hi_dom:
        return None
    lo = max(lo, lo_dom)
    if lo > hi:
        return None
    return Svc(proto, lo, hi, f"{_label(proto)}/{spec}", loc)


def _label(proto: int) -> str:
    from ..model.ruleset import proto_label

    return proto_label(proto)
