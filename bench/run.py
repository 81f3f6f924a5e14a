"""Run the benchmarks: one subprocess per size, tables on stdout, JSON in bench/results/.

Each size runs in its own process so that its peak RSS is its own.  Reverse,
verify and lint run in further processes with a time limit each (a timeout is
reported as such).  Timings stay out of the unit tests.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import aerleon_side, generate, shapes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIZES = (1000, 10000, 100000)
# --shapes: bytes per shape (small by default: the whole mode takes a few minutes on 2 cores)
SHAPE_SIZES = {
    "wildcard": (4000, 8000, 16000),
    "nested": (40000, 80000, 160000),
    "ports": (20000, 40000, 80000),
    "denyfirst": (40000, 80000, 160000),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def one_size(n: int, workloads: int, deny: float, seed: int, workdir: str, targets=()) -> dict:
    """Generate, parse (both languages), convert and render one size; figures as a dict.
    TARGETS: ordered targets also converted, with their time and YAML bytes."""
    from translator.compiler.synth import convert
    from translator.frontends import iptables, rules
    from translator.io.manifests import write_docs
    from translator.model.inventory import parse_inventory

    g = generate.generate(n, workloads, deny, seed)
    paths = generate.write(g, workdir)
    texts = {k: Path(p).read_text() for k, p in paths.items()}
    out: dict = {
        "rules": n,
        "workloads": workloads,
        "deny": deny,
        "seed": seed,
        "lines_rules": texts["rules"].count("\n"),
        "lines_iptables": texts["iptables"].count("\n"),
    }
    t = time.perf_counter()
    ipt = iptables.load(texts["iptables"], paths["iptables"])
    out["parse_iptables_s"] = time.perf_counter() - t
    out["iptables_rules"] = len(ipt[-1].rules)
    del ipt
    t = time.perf_counter()
    rs = rules.parse(texts["rules"], paths["rules"])
    out["parse_s"] = time.perf_counter() - t
    inv = parse_inventory(texts["inventory"], paths["inventory"])
    t = time.perf_counter()
    res = convert(rs, inv)
    out["convert_s"] = time.perf_counter() - t
    t = time.perf_counter()
    write_docs(Path(workdir, "policies.json"), res.policies, "json")  # streamed, as the CLI writes
    out["render_json_s"] = time.perf_counter() - t
    out["output_mb"] = Path(workdir, "policies.json").stat().st_size / 1e6
    t = time.perf_counter()
    write_docs(Path(workdir, "policies.yaml"), res.policies, "yaml")  # what `fw2np convert -o x.yaml` writes
    out["render_yaml_s"] = time.perf_counter() - t
    out.update(output_size(res.policies, Path(workdir, "policies.yaml")))
    pols = res.policies
    out["findings"] = len(res.findings)
    per = {}
    for p in pols:
        if p["metadata"]["annotations"].get("fw2np.io/rules") == "default deny (cleanup)":
            continue
        k = (
            p["metadata"]["namespace"],
            json.dumps(p["spec"]["podSelector"], sort_keys=True),
            p["spec"]["policyTypes"][0],
        )
        per[k] = per.get(k, 0) + 1
    out["max_policies_per_selector_direction"] = max(per.values(), default=0)
    out["ruleset_bytes"] = len(texts["rules"].encode())
    del pols, res
    for target in targets:
        out.update(target_size(rs, inv, target, workdir))
    out["peak_rss_mb"] = _peak_mb()
    return out


def target_size(rs, inv, target: str, workdir: str) -> dict:
    """Convert for an ordered TARGET: seconds, documents, rules and YAML bytes."""
    from translator.io.manifests import write_docs
    from translator.targets import convert as convert_for

    t = time.perf_counter()
    res = convert_for(rs, inv, target)
    took = time.perf_counter() - t
    path = Path(workdir, f"{target}.yaml")
    write_docs(path, res.policies, "yaml")
    return {
        f"{target}_s": took,
        f"{target}_documents": len(res.policies),
        f"{target}_rules": res.stats["peers"],
        f"{target}_yaml_bytes": path.stat().st_size,
    }


def targets_table(rows: list[dict], targets) -> str:
    """Each target's YAML output beside NetworkPolicy's and the ruleset file's: KB and x the ruleset."""
    head = ["rules", "ruleset KB", "networkpolicy KB (x)"] + [f"{t} KB (x), docs, rules, s" for t in targets]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        rb = r.get("ruleset_bytes")
        if not rb:
            continue

        def kb(b):
            return "-" if b is None else f"{b / 1000:,.0f} ({b / rb:.1f}x)"

        cells = [str(r["rules"]), f"{rb / 1000:,.0f}", kb(r.get("yaml_bytes"))]
        for t in targets:
            cells.append(
                f"{kb(r.get(f'{t}_yaml_bytes'))}, {_fmt(r.get(f'{t}_documents'), ',d')}, "
                f"{_fmt(r.get(f'{t}_rules'), ',d')}, {_fmt(r.get(f'{t}_s'))}"
            )
        lines.append(" | ".join(cells))
    return "\n".join(lines)


MIB = 1 << 20


def _rules_of(p: dict) -> list:
    return (p["spec"].get("ingress") or []) + (p["spec"].get("egress") or [])


def output_size(pols: list[dict], yaml_path: Path) -> dict:
    """Size figures of convert's output: policies, peers, port entries, the YAML's bytes and the largest
    policy as compact JSON (what the API server receives; its request limit is about 1.5 MiB)."""
    sizes = [len(json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode()) for p in pols]
    big = max(range(len(pols)), key=sizes.__getitem__) if pols else None
    return {
        "policies": len(pols),
        "peers": sum(len(r.get("from") or r.get("to") or []) for p in pols for r in _rules_of(p)),
        "ports": sum(len(r.get("ports") or []) for p in pols for r in _rules_of(p)),
        "k8s_rules": sum(len(_rules_of(p)) for p in pols),
        "yaml_bytes": yaml_path.stat().st_size,
        "max_policy_json_bytes": sizes[big] if pols else 0,
        "max_policy": pols[big]["metadata"]["name"] if pols else None,
        "policies_over_1mib": sum(x >= MIB for x in sizes),
    }


def reverse_size(workdir: str) -> dict:
    """`fw2np reverse policies.yaml` as the CLI runs it (load, table, text written out); figures as a dict."""
    from translator.model.policies import load_policies
    from translator.reverse.formats import render_table
    from translator.reverse.table import build_table

    t = time.perf_counter()
    objs = load_policies(str(Path(workdir, "policies.yaml")))
    load_s = time.perf_counter() - t
    text = render_table(build_table(objs), "table")
    Path(workdir, "reverse.txt").write_text(text)
    return {
        "reverse_s": time.perf_counter() - t,
        "reverse_load_s": load_s,
        "reverse_bytes": len(text.encode()),
        "reverse_peak_rss_mb": _peak_mb(),
    }


def verify_size(workdir: str) -> dict:
    """Verify the policies written by one_size (read from their YAML, as `fw2np verify` reads them) against the
    ruleset, without listing the compiler's approximations; figures as a dict (verify_s includes the load)."""
    from translator.frontends import rules
    from translator.model.inventory import parse_inventory
    from translator.model.policies import load_policies
    from translator.verify.core import verify
    from translator.verify.kinds import MORE

    rs = rules.parse(Path(workdir, "rules.fw").read_text(), "rules.fw")
    inv = parse_inventory(Path(workdir, "inventory.yaml").read_text(), "inventory.yaml")
    t = time.perf_counter()
    pols = load_policies(str(Path(workdir, "policies.yaml")))
    load_s = time.perf_counter() - t
    kw = {"approximations": False} if "approximations" in inspect.signature(verify).parameters else {}
    rep = verify(rs, inv, pols, **kw)[0]
    return {
        "verify_s": time.perf_counter() - t,
        "verify_load_s": load_s,
        "equivalent": rep.equivalent,
        "verify_more_permissive": rep.by_direction[MORE],
        "verify_checked": rep.checked,
        "verify_peak_rss_mb": _peak_mb(),
    }


def lint_size(workdir: str) -> dict:
    """Lint the ruleset one_size wrote, over its inventory (every check, as `fw2np lint -i` runs); figures as a dict."""
    from translator.frontends import rules
    from translator.lint.checks import lint
    from translator.model.inventory import parse_inventory

    rs = rules.parse(Path(workdir, "rules.fw").read_text(), "rules.fw")
    inv = parse_inventory(Path(workdir, "inventory.yaml").read_text(), "inventory.yaml")
    t = time.perf_counter()
    findings = lint(rs, inv)
    return {"lint_s": time.perf_counter() - t, "lint_findings": len(findings), "lint_peak_rss_mb": _peak_mb()}


def shape_size(shape: str, size: int, seed: int, workdir: str) -> dict:
    """Write one issue-22 shape at SIZE bytes, then load and convert it as `fw2np convert` does; figures as a dict."""
    from translator.compiler.synth import convert
    from translator.errors import InputError
    from translator.frontends import load
    from translator.model.inventory import parse_inventory

    paths = shapes.write(shape, size, seed, workdir)
    out: dict = {"shape": shape, "bytes": Path(paths["rules"]).stat().st_size, "seed": seed}
    t = time.perf_counter()
    try:
        rs = load(paths["rules"])[-1]
        out["load_s"] = time.perf_counter() - t
        out["rules"] = len(rs.rules)
        inv = parse_inventory(Path(paths["inventory"]).read_text(), paths["inventory"])
        t = time.perf_counter()
        res = convert(rs, inv)
    except InputError as e:  # a documented bound: reported, as the CLI would
        out["bound_error"] = e.render().splitlines()[0].replace(str(Path(workdir)) + os.sep, "")
        out["stopped_after_s"] = time.perf_counter() - t
        out["peak_rss_mb"] = _peak_mb()
        return out
    out["convert_s"] = time.perf_counter() - t
    out["policies"] = len(res.policies)
    out["peak_rss_mb"] = _peak_mb()
    return out


def shapes_table(rows: list[dict]) -> str:
    head = ["shape", "bytes", "rules", "load s", "convert s", "peak MiB", "k (convert)", "k (peak)", "note"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    prev: dict = {}
    for r in rows:
        p = prev.get(r["shape"])
        ks = [None, None]
        if p is not None and "convert_s" in p and "convert_s" in r:
            for j, key in enumerate(("convert_s", "peak_rss_mb")):
                ks[j] = fit_exponent([p["bytes"], r["bytes"]], [p.get(key), r.get(key)])
        prev[r["shape"]] = r
        note = ("stopped by a bound: " + r["bound_error"]) if "bound_error" in r else r.get("error", "")
        lines.append(
            " | ".join(
                [
                    r["shape"],
                    _fmt(r.get("bytes"), ",d"),
                    _fmt(r.get("rules"), ",d"),
                    _fmt(r.get("load_s")),
                    _fmt(r.get("convert_s") if "convert_s" in r else r.get("stopped_after_s")),
                    _fmt(r.get("peak_rss_mb"), ".0f"),
                    _fmt(ks[0]),
                    _fmt(ks[1]),
                    note,
                ]
            )
        )
    return "\n".join(lines)


def run_shapes(a) -> int:
    """--shapes: each issue-22 shape at its sizes, each size in a child process with a time limit."""
    wanted = [s.strip() for s in a.shapes.split(",")] if a.shapes != "all" else list(shapes.SHAPES)
    for s in wanted:
        if s not in shapes.SHAPES:
            print(f"unknown shape {s!r} (one of {', '.join(shapes.SHAPES)})", file=sys.stderr)
            return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="fw2np-shapes-") as tmp:
        for shape in wanted:
            if a.shape_sizes:
                sizes = [int(x) for x in a.shape_sizes.split(",")]
            elif a.issue_sizes:
                sizes = [shapes.ISSUE_SIZES[shape]]
            else:
                sizes = list(SHAPE_SIZES[shape])
            for size in sizes:
                print(
                    f"[{shape} {size:,} bytes] convert (limit {a.shape_timeout:.0f} s) ...", file=sys.stderr, flush=True
                )
                d = os.path.join(tmp, f"{shape}-{size}")
                args = ["--shape-one", shape, "--shape-bytes", str(size), "--seed", str(a.seed), "--dir", d]
                row = {"shape": shape, "bytes": size, **_child(args, a.shape_timeout)}
                rows.append(row)
                if "error" in row or "bound_error" in row:
                    break  # a larger size would only run longer
    print(shapes_table(rows))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    path = Path(a.out, f"shapes-{time.strftime('%Y%m%d-%H%M%S')}.json")
    path.write_text(
        json.dumps(
            {"argv": sys.argv[1:], "python": platform.python_version(), "cpus": os.cpu_count(), "rows": rows}, indent=2
        )
        + "\n"
    )
    print(f"results: {path}", file=sys.stderr)
    return 0


def _child(args: list[str], timeout: float | None) -> dict:
    cmd = [sys.executable, "-m", "bench.run"] + args
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fit_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log y against log x (cost ~ n**slope)."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else None


def _fmt(v, spec: str = ".2f") -> str:
    if v is None:
        return "-"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


COMMANDS = ("reverse", "verify", "lint")


def _timed(r: dict, what: str) -> str:
    """WHAT's seconds, its error (a timeout says so), or '-' when it did not run."""
    return _fmt(r.get(f"{what}_s") if f"{what}_s" in r else r.get(f"{what}_error"))


def table(rows: list[dict]) -> str:
    """Times and peaks: parse, convert, then reverse, verify and lint, each in its own process."""
    head = ["rules", "parse s", "ipt parse s", "lines/s", "convert s", "peak MB"]
    head += [f"{c} {x}" for c in COMMANDS for x in ("s", "MB")] + ["aerleon s", "ratio"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        lps = r["lines_rules"] / r["parse_s"] if r.get("parse_s") else None
        cells = [
            str(r["rules"]),
            _fmt(r.get("parse_s")),
            _fmt(r.get("parse_iptables_s")),
            _fmt(lps, ",.0f"),
            _fmt(r.get("convert_s")),
            _fmt(r.get("peak_rss_mb"), ".0f"),
        ]
        for c in COMMANDS:
            cells += [_timed(r, c), _fmt(r.get(f"{c}_peak_rss_mb"), ".0f")]
        aer = r.get("aerleon_s") if "aerleon_s" in r else r.get("aerleon_error")
        cells += [_fmt(aer), _fmt(r.get("aerleon_ratio"))]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def size_table(rows: list[dict]) -> str:
    """Convert's output: policies, peers, port entries, YAML bytes, the largest policy as JSON (goal: < 1 MiB)."""
    head = ["rules", "policies", "peers", "ports", "YAML MB", "largest policy KiB (JSON)", "policies >= 1 MiB"]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        yb, mb = r.get("yaml_bytes"), r.get("max_policy_json_bytes")
        cells = [
            str(r["rules"]),
            _fmt(r.get("policies"), ",d"),
            _fmt(r.get("peers"), ",d"),
            _fmt(r.get("ports"), ",d"),
            _fmt(yb / 1e6 if yb is not None else None, ".1f"),
            _fmt(mb / 1024 if mb is not None else None, ",.0f"),
            _fmt(r.get("policies_over_1mib"), "d"),
        ]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


# each fitted as cost ~ rules**k
FITTED = ("parse_s", "convert_s", "peak_rss_mb") + tuple(f"{c}_{x}" for c in COMMANDS for x in ("s", "peak_rss_mb"))
FITTED += ("yaml_bytes", "max_policy_json_bytes")


def _targets(a) -> tuple[str, ...]:
    return tuple(t for t in (a.targets or "").split(",") if t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", help="comma-separated rule counts (default 1000,10000,100000)")
    ap.add_argument("--quick", action="store_true", help="1k and 10k rules only")
    ap.add_argument("--workloads", type=int, default=500)
    ap.add_argument("--deny", type=float, default=0.2, help="share of deny rules (default 0.2)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verify-timeout", type=float, default=600.0, help="seconds per size (default 600)")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--lint-timeout", type=float, default=600.0, help="seconds per size (default 600)")
    ap.add_argument("--lint-max", type=int, default=100000, help="largest size linted (default 100000)")
    ap.add_argument("--no-lint", action="store_true")
    ap.add_argument("--reverse-timeout", type=float, default=600.0, help="seconds per size (default 600)")
    ap.add_argument("--no-reverse", action="store_true")
    ap.add_argument("--no-aerleon", action="store_true")
    ap.add_argument(
        "--targets", default="calico,cnp,anp,cilium", help="ordered targets also converted (default: all; '' none)"
    )
    ap.add_argument("--aerleon-max", type=int, default=10000, help="largest size timed with aerleon")
    ap.add_argument("--out", default=str(RESULTS), help="results folder (default bench/results)")
    ap.add_argument(
        "--shapes",
        nargs="?",
        const="all",
        help="time the issue-22 shapes (all, or a comma list of "
        "wildcard, nested, ports, denyfirst) instead of the table",
    )
    ap.add_argument("--shape-sizes", help="comma-separated sizes in bytes for --shapes (default: small, per shape)")
    ap.add_argument("--issue-sizes", action="store_true", help="--shapes at the sizes issue 22 reported (slow)")
    ap.add_argument("--shape-timeout", type=float, default=120.0, help="seconds per shape and size (default 120)")
    # internal: one size in this process
    ap.add_argument("--shape-one", help=argparse.SUPPRESS)
    ap.add_argument("--shape-bytes", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--verify-dir", help=argparse.SUPPRESS)
    ap.add_argument("--lint-dir", help=argparse.SUPPRESS)
    ap.add_argument("--reverse-dir", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.shape_one:
        print(json.dumps(shape_size(a.shape_one, a.shape_bytes, a.seed, a.dir)))
        return 0
    if a.shapes:
        return run_shapes(a)
    if a.one:
        print(json.dumps(one_size(a.one, a.workloads, a.deny, a.seed, a.dir, _targets(a))))
        return 0
    if a.verify_dir:
        print(json.dumps(verify_size(a.verify_dir)))
        return 0
    if a.lint_dir:
        print(json.dumps(lint_size(a.lint_dir)))
        return 0
    if a.reverse_dir:
        print(json.dumps(reverse_size(a.reverse_dir)))
        return 0
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else list(SIZES[:2] if a.quick else SIZES)
    aer = None if a.no_aerleon else aerleon_side.AerleonSide(HERE / ".venv-aerleon")
    if aer and not aer.ready():
        print(f"aerleon: not available ({aer.error}); carrying on without it", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fw2np-bench-") as tmp:
        for n in sizes:
            d = os.path.join(tmp, str(n))
            base = ["--workloads", str(a.workloads), "--deny", str(a.deny), "--seed", str(a.seed)]
            base += ["--targets", a.targets]
            print(f"[{n} rules] parse + convert ...", file=sys.stderr, flush=True)
            row = {"rules": n, **_child(["--one", str(n), "--dir", d] + base, None)}
            if "error" in row:
                print(f"[{n} rules] failed: {row['error']}", file=sys.stderr)
                rows.append(row)
                continue
            for what, wanted, limit in (
                ("reverse", not a.no_reverse, a.reverse_timeout),
                ("verify", not a.no_verify, a.verify_timeout),
                ("lint", not a.no_lint and n <= a.lint_max, a.lint_timeout),
            ):
                if wanted:
                    print(f"[{n} rules] {what} (limit {limit:.0f} s) ...", file=sys.stderr, flush=True)
                    v = _child([f"--{what}-dir", d], limit)
                    row.update({f"{what}_error": v["error"]} if "error" in v else v)
            if aer and aer.ready() and n <= a.aerleon_max:
                print(f"[{n} rules] aerleon side by side (accept-only) ...", file=sys.stderr, flush=True)
                row.update(aer.compare(n, a.workloads, a.seed, os.path.join(tmp, f"aerleon-{n}")))
            rows.append(row)
    ok = [r for r in rows if "convert_s" in r]
    fits = {k: fit_exponent([r["rules"] for r in ok], [r.get(k) for r in ok]) for k in FITTED}
    print(table(rows))
    print()
    print(size_table(rows))
    print()
    if _targets(a):
        print(targets_table(rows, _targets(a)))
        print()
    print("fitted exponent (cost ~ rules**k): " + ", ".join(f"{k} {_fmt(v)}" for k, v in fits.items()))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(a.out, f"bench-{stamp}.json")
    path.write_text(
        json.dumps(
            {
                "argv": sys.argv[1:],
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "rows": rows,
                "exponents": fits,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
