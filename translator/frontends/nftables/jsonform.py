"""`nft -j list ruleset` (libnftables-json(5)) as the same tables, chains and rule lines as the text
form: each rule's expressions are spelled as the words nft would print, which rule.py then reads."""

from __future__ import annotations

from ...errors import InputError, Loc, line_of
from ...io.jsonsrc import parse_json
from ...io.yamlio import loc_of
from ..common.words import Item
from .reader import Chain, NamedSet, NftFile, Table

VERDICT_KEYS = ("accept", "drop", "reject", "return", "continue", "jump", "goto")


class _Json:
    def __init__(self, nft: NftFile):
        self.nft = nft

    def fail(self, msg: str, obj) -> InputError:
        loc = loc_of(obj) or Loc(self.nft.path)
        return InputError(msg, loc, line_of(self.nft.text, loc.line))

    def loc(self, obj) -> Loc:
        return loc_of(obj) or Loc(self.nft.path)

    # --- expressions as words -----------------------------------------------------------------

    def left(self, e, at: Loc) -> list[Item]:
        if isinstance(e, dict):
            if "payload" in e:
                p = e["payload"]
                proto = p.get("protocol") or p.get("base") or "th"
                return [Item("w", str(proto), at), Item("w", str(p.get("field")), at)]
            if "meta" in e:
                key = str(e["meta"].get("key"))
                return [Item("w", "meta", at), Item("w", key, at)]
            if "ct" in e:
                return [Item("w", "ct", at), Item("w", str(e["ct"].get("key")), at)]
            if "tcp option" in e or "exthdr" in e or "fib" in e or "socket" in e or "concat" in e:
                name = next(iter(e))
                return [Item("w", name.replace(" ", "-"), at), Item("w", "<expression>", at)]
            name = next(iter(e), "?")
            return [Item("w", str(name), at), Item("w", "<expression>", at)]
        return [Item("w", str(e), at)]

    def value(self, v, at: Loc) -> Item:
        """A right-hand side: a word, or an anonymous set of words."""
        if isinstance(v, list):
            return Item("set", "{...}", at, [[self.value(x, at)] for x in v])
        if isinstance(v, dict):
            if "set" in v:
                s = v["set"]
                return Item("set", "{...}", at, [[self.value(x, at)] for x in (s if isinstance(s, list) else [s])])
            if "prefix" in v:
                return Item("w", f"{v['prefix'].get('addr')}/{v['prefix'].get('len')}", at)
            if "range" in v:
                lo, hi = v["range"]
                return Item("w", f"{self.value(lo, at).text}-{self.value(hi, at).text}", at)
            if "elem" in v:
                return self.value(v["elem"].get("val"), at)
            raise self.fail(f"a value fw2np cannot read: {sorted(v)}", v)
        if isinstance(v, bool) or v is None:
            raise self.fail(f"a value fw2np cannot read: {v!r}", None)
        return Item("w", str(v), at)

    def verdict(self, key: str, arg, at: Loc) -> list[Item]:
        out = [Item("w", key, at)]
        if key in ("jump", "goto"):
            out.append(Item("w", str((arg or {}).get("target")), at))
        return out

    def statement(self, st, at: Loc) -> list[Item]:
        if not isinstance(st, dict) or len(st) != 1:
            raise self.fail("a rule expression is an object with one key", st)
        (key, arg), = st.items()  # fmt: skip
        if key == "match":
            op = arg.get("op", "==")
            words = self.left(arg.get("left"), at)
            if op in ("!=", "<", ">", "<=", ">="):
                words.append(Item("w", op, at))
            elif op not in ("==", "in"):
                return [Item("w", f"match-{op}", at), *words]
            return words + [self.value(arg.get("right"), at)]
        if key in VERDICT_KEYS:
            return self.verdict(key, arg, at)
        if key == "counter" or key == "log":
            return [Item("w", key, at)]
        if key == "limit":
            a = arg or {}
            return [Item("w", "limit", at), Item("w", "rate", at), Item("w", f"{a.get('rate')}/{a.get('per')}", at)]
        if key == "vmap":
            words = self.left(arg.get("key"), at) + [Item("w", "vmap", at)]
            data = arg.get("data")
            if isinstance(data, str):
                return words + [Item("w", data, at)]
            elems = []
            for pair in (data or {}).get("set", []):
                k, v = pair
                (vk, varg), = v.items()  # fmt: skip
                elems.append([self.value(k, at), Item("w", ":", at), *self.verdict(vk, varg, at)])
            return words + [Item("set", "{...}", at, elems)]
        return [Item("w", key.replace(" ", "-"), at), Item("w", "<statement>", at)]


def read_json(text: str, path: str) -> NftFile:
    nft = NftFile(path, text)
    nft.texts[path] = text
    data = parse_json(text, path)
    j = _Json(nft)
    items = data.get("nftables") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise j.fail('expected {"nftables": [...]} (the output of nft -j list ruleset)', data)

    def table(obj) -> Table:
        key = (str(obj.get("family")), str(obj.get("table") or obj.get("name")))
        if key not in nft.tables:
            nft.tables[key] = Table(key[0], key[1], j.loc(obj))
        return nft.tables[key]

    for entry in items:
        if not isinstance(entry, dict):
            continue
        if "table" in entry:
            table(entry["table"])
        elif "chain" in entry:
            c = entry["chain"]
            t = table(c)
            ch = t.chains.setdefault(str(c.get("name")), Chain(str(c.get("name")), j.loc(c)))
            if c.get("hook") is not None:
                ch.type, ch.hook = str(c.get("type", "filter")), str(c["hook"])
                prio = c.get("prio", 0)
                ch.priority = prio if isinstance(prio, int) else 0
                ch.policy = str(c.get("policy", "accept"))
                ch.policy_loc = loc_of(c, "policy") or j.loc(c)
        elif "set" in entry or "map" in entry:
            s = entry.get("set") or entry.get("map")
            t = table(s)
            ns = t.sets.setdefault(str(s.get("name")), NamedSet(str(s.get("name")), j.loc(s)))
            at = j.loc(s)
            for e in s.get("elem") or []:
                if isinstance(e, list) and len(e) == 2 and isinstance(e[1], dict):  # a verdict map element
                    (vk, varg), = e[1].items()  # fmt: skip
                    ns.elems.append([j.value(e[0], at), Item("w", ":", at), *j.verdict(vk, varg, at)])
                else:
                    ns.elems.append([j.value(e, at)])
            ns.flags = tuple(s.get("flags") or ())
        elif "rule" in entry:
            r = entry["rule"]
            t = table(r)
            name = str(r.get("chain"))
            if name not in t.chains:
                raise j.fail(f"rule of chain {name}, which is not declared before it", r)
            at = j.loc(r)
            words: list[Item] = []
            for st in r.get("expr") or []:
                words += j.statement(st, loc_of(st) or at)
            if r.get("comment"):
                words += [Item("w", "comment", at), Item("str", str(r["comment"]), at)]
            if words:
                t.chains[name].lines.append(words)
    return nft
