"""ARM template expressions (`[parameters('x')]`, `[resourceId(...)]`, `[concat(...)]`, ...), evaluated
from the template alone: what depends on the deployment is never guessed (an `Unevaluated` value)."""

from __future__ import annotations

import json
import re

from ...io.yamlio import LDict, LList


class Unevaluated(str):
    """An ARM expression this reader cannot evaluate (the text, with why in .reason)."""

    reason: str = ""


def unevaluated(text: str, reason: str) -> Unevaluated:
    out = Unevaluated(text)
    out.reason = reason
    return out


class _Cannot(Exception):
    """An expression (or part of one) with no value in the template alone."""


_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(-?[0-9]+)|([A-Za-z_][\w]*)|(.))")
# functions whose value depends on the deployment, not on the template: never guessed
_RUNTIME = {
    "resourcegroup",
    "subscription",
    "tenant",
    "deployment",
    "environment",
    "managementgroup",
    "reference",
    "uniquestring",
    "newguid",
    "utcnow",
    "copyindex",
    "listkeys",
    "list",
    "pickzones",
    "guid",
    "uri",
}


class ArmTemplate:
    """Evaluates `[...]` expressions of one template from its parameters' defaultValues and variables."""

    def __init__(self, template: dict):
        params = template.get("parameters")
        variables = template.get("variables")
        self.params = params if isinstance(params, dict) else {}
        self.vars = variables if isinstance(variables, dict) else {}
        self._busy: set[str] = set()

    # values
    def resolve(self, value, loc=None):
        """VALUE with every expression evaluated; an expression with no value becomes Unevaluated."""
        if isinstance(value, Unevaluated):
            return value
        if isinstance(value, str):
            if not is_expression(value):
                return value[1:] if value.startswith("[[") else value
            try:
                return self._located(self.expression(value[1:-1]), loc)
            except _Cannot as why:
                return unevaluated(value, str(why))
        if isinstance(value, dict):
            out = LDict()
            out.loc, out.key_locs = getattr(value, "loc", loc), dict(getattr(value, "key_locs", {}))
            for k, v in value.items():
                out[k] = self.resolve(v, out.key_locs.get(k, out.loc))
            return out
        if isinstance(value, list):
            out = LList(self.resolve(v, getattr(value, "loc", loc)) for v in value)
            out.loc = getattr(value, "loc", loc)
            return out
        return value

    def _located(self, value, loc):
        """Objects and arrays an expression gives, placed where the expression is."""
        if isinstance(value, (dict, list)) and getattr(value, "loc", None) is None:
            return self.resolve(value, loc)
        return value

    def expression(self, text: str):
        toks = [m for m in _TOKEN.finditer(text) if m.group(0).strip()]
        val, i = self._expr(toks, 0, text)
        if i != len(toks):
            raise _Cannot(f"cannot read the expression {text!r}")
        return val

    def _expr(self, toks, i, text):
        val, i = self._primary(toks, i, text)
        while i < len(toks):
            t = toks[i].group(0).strip()
            if t == "." and i + 1 < len(toks) and toks[i + 1].group(3):
                val, i = self._member(val, toks[i + 1].group(3)), i + 2
            elif t == "[":
                key, i = self._expr(toks, i + 1, text)
                if i >= len(toks) or toks[i].group(0).strip() != "]":
                    raise _Cannot(f"cannot read the expression {text!r}")
                val, i = self._member(val, key), i + 1
            else:
                break
        return val, i

    def _member(self, val, key):
        if isinstance(val, dict):
            for k, v in val.items():
                if str(k).lower() == str(key).lower():
                    return self.resolve_value(v)
            raise _Cannot(f"no property {key!r}")
        if isinstance(val, list) and isinstance(key, int) and -len(val) <= key < len(val):
            return self.resolve_value(val[key])
        raise _Cannot(f"cannot take {key!r} of {val!r}")

    def resolve_value(self, v):
        """V evaluated, raising _Cannot when part of it has no value."""
        out = self.resolve(v)
        if isinstance(out, Unevaluated):
            raise _Cannot(out.reason)
        return out

    def _primary(self, toks, i, text):
        if i >= len(toks):
            raise _Cannot(f"cannot read the expression {text!r}")
        m = toks[i]
        if m.group(1):
            return m.group(1)[1:-1].replace("''", "'"), i + 1
        if m.group(2):
            return int(m.group(2)), i + 1
        name = m.group(3)
        if not name or i + 1 >= len(toks) or toks[i + 1].group(0).strip() != "(":
            raise _Cannot(f"cannot read the expression {text!r}")
        args, i = [], i + 2
        if i < len(toks) and toks[i].group(0).strip() == ")":
            return self.call(name, args), i + 1
        while True:
            if name.lower() == "if" and len(args) >= 1:  # lazy branches: the unused one may have no value
                try:
                    arg, i = self._expr(toks, i, text)
                except _Cannot as why:
                    arg, i = _Lazy(str(why)), self._skip(toks, i)
            else:
                arg, i = self._expr(toks, i, text)
            args.append(arg)
            t = toks[i].group(0).strip() if i < len(toks) else ""
            if t == ",":
                i += 1
            elif t == ")":
                return self.call(name, args), i + 1
            else:
                raise _Cannot(f"cannot read the expression {text!r}")

    @staticmethod
    def _skip(toks, i):
        """The index after one argument starting at I (balanced brackets)."""
        depth = 0
        while i < len(toks):
            t = toks[i].group(0).strip()
            if t in "([" and not toks[i].group(1):
                depth += 1
            elif t in ")]" and not toks[i].group(1):
                if depth == 0:
                    return i
                depth -= 1
            elif t == "," and depth == 0:
                return i
            i += 1
        return i

    def call(self, name: str, args: list):
        fn = name.lower()
        if fn == "if":
            if len(args) != 3 or isinstance(args[0], _Lazy) or not isinstance(args[0], bool):
                raise _Cannot("if() needs a known condition")
            out = args[1] if args[0] else args[2]
            if isinstance(out, _Lazy):
                raise _Cannot(out.why)
            return out
        if fn in ("parameters", "variables"):
            if len(args) != 1 or not isinstance(args[0], str):
                raise _Cannot(f"{name}() takes one name")
            return self._named(fn, args[0])
        if fn in ("resourceid", "subscriptionresourceid", "tenantresourceid", "extensionresourceid"):
            if not args or not all(isinstance(a, str) for a in args):
                raise _Cannot(f"{name}() needs names")
            return str(args[-1])  # the resource's own name: all a rule's reference needs
        if fn in _RUNTIME:
            raise _Cannot(f"{name}() is known only at deployment")
        return _call_pure(fn, name, args)

    def _named(self, kind: str, key: str):
        table = self.params if kind == "parameters" else self.vars
        found = next((k for k in table if str(k).lower() == key.lower()), None)
        if found is None:
            raise _Cannot(f"the template has no {kind[:-1]} {key!r}")
        tag = f"{kind}:{found}"
        if tag in self._busy:
            raise _Cannot(f"{kind[:-1]} {key!r} refers to itself")
        self._busy.add(tag)
        try:
            if kind == "variables":
                return self.resolve_value(table[found])
            spec = table[found]
            if not isinstance(spec, dict) or "defaultValue" not in spec:
                raise _Cannot(f"parameter {key!r} has no defaultValue (its value is given at deployment)")
            return self.resolve_value(spec["defaultValue"])
        finally:
            self._busy.discard(tag)


class _Lazy:
    """An if() branch that has no value (an error only if if() picks it)."""

    def __init__(self, why: str):
        self.why = why


def is_expression(value) -> bool:
    return isinstance(value, str) and value.startswith("[") and not value.startswith("[[") and value.endswith("]")


def _call_pure(fn: str, name: str, args: list):
    """The template functions whose value follows from their arguments alone."""
    strs = all(isinstance(a, str) for a in args)
    if fn == "concat":
        if args and all(isinstance(a, list) for a in args):
            return [x for a in args for x in a]
        if all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in args):
            return "".join(str(a) for a in args)
    elif fn == "format" and args and isinstance(args[0], str):
        return re.sub(r"\{([0-9]+)\}", lambda m: str(args[int(m.group(1)) + 1]), args[0])
    elif fn in ("tolower", "toupper", "trim") and len(args) == 1 and strs:
        return {"tolower": str.lower, "toupper": str.upper, "trim": str.strip}[fn](args[0])
    elif fn == "string" and len(args) == 1 and isinstance(args[0], (str, int, bool)):
        return str(args[0]).lower() if isinstance(args[0], bool) else str(args[0])
    elif fn == "int" and len(args) == 1 and re.fullmatch(r"-?[0-9]+", str(args[0])):
        return int(args[0])
    elif fn == "replace" and len(args) == 3 and strs:
        return args[0].replace(args[1], args[2])
    elif fn == "split" and len(args) == 2 and strs:
        return args[0].split(args[1])
    elif fn in ("first", "last") and len(args) == 1 and isinstance(args[0], (str, list)) and args[0]:
        return args[0][0] if fn == "first" else args[0][-1]
    elif fn == "createarray":
        return list(args)
    elif fn == "equals" and len(args) == 2:
        return args[0] == args[1]
    elif fn == "not" and len(args) == 1 and isinstance(args[0], bool):
        return not args[0]
    elif fn in ("and", "or") and args and all(isinstance(a, bool) for a in args):
        return all(args) if fn == "and" else any(args)
    elif fn in ("true", "false") and not args:
        return fn == "true"
    elif fn == "empty" and len(args) == 1 and isinstance(args[0], (str, list, dict)):
        return not args[0]
    elif fn == "coalesce" and args:
        return next((a for a in args if a is not None), None)
    elif fn == "json" and len(args) == 1 and strs:
        try:
            return json.loads(args[0])
        except ValueError:
            pass
    raise _Cannot(f"{name}() is not evaluated here")
