"""Batch conversion: every export under a directory, in parallel, with a report.

Each input file is converted on its own (a bad file never stops the batch);
every manifest is written atomically under manifests/, so an interrupted run
leaves only whole files and a rerun finishes the job.  manifests/Kustomization
and report/report.json, report/report.html are written last; timings live only
under the "timing" key.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import signal
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from .. import limits, pool
from ..compiler.findings import APPROXIMATIONS
from ..errors import InputError, Loc
from ..frontends.capirca import part_of_a_policy
from ..io.manifests import CLUSTER_SCOPED, KUSTOMIZATION, kustomization
from ..limits import TimeLimit
from .outtree import MANIFESTS, REPORT_DIR, REPORT_FILES, manifest_rel, remove_in_tree, write_in_tree

LAYOUTS = ("per-input", "per-namespace")


@dataclass
class Job:
    rel: str
    path: str
    outdir: str
    inventory: str
    layout: str
    host: str | None = None
    source_format: str | None = None
    options: dict = field(default_factory=dict)
    host_map: str | None = None  # a hosts.yaml found beside the file
    target: str = "networkpolicy"  # convert --target


def find_inputs(input_dir: str, skip: list[str] = (), exclude: list[str] = ()) -> list[tuple[str, str]]:
    """[(relative posix path, path)] of every non-hidden file under INPUT_DIR, sorted."""
    root = Path(input_dir)
    skipped = {Path(p).resolve() for p in skip if p}
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (Path(dirpath) / d).resolve() not in skipped
        )
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if name.startswith(".") or p.resolve() in skipped or any(fnmatch.fnmatch(rel, g) for g in exclude):
                continue
            if name in INVENTORY_NAMES + HOST_MAP_NAMES:
                continue
            out.append((rel, str(p)))
    return sorted(out)


INVENTORY_NAMES = ("inventory.yaml", "inventory.yml")
HOST_MAP_NAMES = ("hosts.yaml", "hosts.yml")


def nearest(path: str, root: str, names) -> str | None:
    """The first of NAMES found beside PATH or in a folder above it, up to ROOT."""
    top = Path(root).resolve()
    d = Path(path).resolve().parent
    while True:
        for n in names:
            if (d / n).is_file():
                return str(d / n)
        if d == top or top not in d.parents:
            return None
        d = d.parent


def is_manifest(text: str) -> bool:
    """Kubernetes manifests (policies, lists) are outputs, not firewall exports."""
    return bool(re.search(r"^\s*apiVersion:\s*\S+", text, re.M) and re.search(r"^\s*kind:\s*\S+", text, re.M))


def load_host_map(path: str, inv) -> list[tuple[str, str]]:
    """[(glob, workload)] from a YAML mapping; InputError with the line on bad entries."""
    from ..io.text import read_text
    from ..io.yamlio import load_all, loc_of

    docs = [d for d in load_all(read_text(path), path) if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise InputError("the host map must be one YAML mapping: path glob -> inventory workload", Loc(path, 1))
    out = []
    for glob, wl in docs[0].items():
        if not isinstance(glob, str) or not isinstance(wl, str) or wl not in inv.workloads:
            raise InputError(
                f"host map: {glob!r} -> {wl!r}: the value must name an inventory workload",
                loc_of(docs[0], glob, Loc(path, 1)),
            )
        out.append((glob, wl))
    return out


def host_for(rel: str, host_map: list[tuple[str, str]], base: str | None = None) -> str | None:
    """The workload of the first glob matching REL (or its file name; or its path from BASE's folder)."""
    names = [rel, Path(rel).name]
    for glob, wl in host_map:
        if any(fnmatch.fnmatch(n, glob) for n in names):
            return wl
    return None


_INVENTORIES: dict = {}


def _inventory(path: str):
    from ..frontends.select import load_inventory  # a ruleset given as -i is named as one

    if path not in _INVENTORIES:
        _INVENTORIES[path] = load_inventory(path)
    return _INVENTORIES[path]


def _slug(names: list[str]) -> list[str]:
    from ..model.names import dns_name

    seen: dict[str, int] = {}
    out = []
    for n in names:
        s = dns_name(n or "ruleset", 63)
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s}-{seen[s]}")
    return out


def convert_file(job: Job) -> dict:
    """Convert one input file; a record for the report (never raises on bad input)."""
    from ..compiler.synth import convert
    from ..frontends import detect, load
    from ..frontends.select import frontend_options
    from ..io.manifests import emit
    from ..io.text import read_text
    from ..lint.checks import lint

    t0 = time.perf_counter()
    rec: dict = {
        "path": job.rel,
        "status": "ok",
        "format": job.source_format,
        "format_source": "--from" if job.source_format else "detected",
        "inventory": job.inventory,
    }
    with limits.time_limit_alarm(limits.time_limit()):
        try:
            text = read_text(job.path)
            part = None if job.source_format else part_of_a_policy(text, job.path)
            if not job.source_format and is_manifest(text) or part:
                why = part or "a Kubernetes manifest, not a firewall export"
                rec.update(status="skipped", reason=why, format_source=None)
                rec["seconds"] = round(time.perf_counter() - t0, 4)
                return rec
            if not job.source_format:
                rec["format"] = detect(text, job.path)
            if not job.inventory:
                raise InputError(
                    "no inventory for this file: put an inventory.yaml beside it (or above it) or pass --inventory",
                    Loc(job.path),
                )
            inv = _inventory(job.inventory)
            if job.host is None and job.host_map:
                job.host = host_for(job.rel, load_host_map(job.host_map, inv), job.host_map)
            opts = dict(job.options, **frontend_options(inv, job.host, job.options.get("columns")))
            rulesets = load(job.path, rec["format"], **opts)
            if not rulesets:
                raise InputError("no ruleset found in the input", Loc(job.path))
            if job.target == "networkpolicy":
                converted = [(rs, convert(rs, inv)) for rs in rulesets]
            else:
                from ..targets import convert as convert_for

                converted = [(rs, convert_for(rs, inv, job.target)) for rs in rulesets]
            rec["rulesets"] = []
            slugs = _slug([rs.name for rs in rulesets])
            for (rs, res), slug in zip(converted, slugs):
                stem = job.rel if len(rulesets) == 1 else f"{job.rel}/{slug}"
                if job.layout == "per-namespace":
                    pieces = [(f"{stem}/{ns}.yaml", ds) for ns, ds in by_namespace(res.policies)]
                else:
                    pieces = [(f"{stem}.yaml", res.policies)]
                outputs = []
                for rel, docs in pieces:
                    rel = manifest_rel(rel)
                    write_in_tree(job.outdir, rel, lambda fh, docs=docs: emit(docs, "yaml", fh))
                    outputs.append(rel)
                rec["rulesets"].append(_ruleset_record(rs, res, lint(rs, inv, res), outputs))
        except InputError as exc:
            rec.update(status="failed", error=exc.render())
        except TimeLimit:
            rec.update(
                status="failed",
                error=f"{job.path}: error: stopped after {limits.time_limit()} s "
                "(bound FW2NP_TIME_LIMIT, per file in a batch)",
            )
        except Exception as exc:  # one bad file must never stop the batch
            rec.update(status="failed", error=f"{job.path}: error: {type(exc).__name__}: {exc}")
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    return rec


def by_namespace(docs: list[dict]) -> list[tuple[str, list[dict]]]:
    """[(namespace, its policies)], sorted by namespace (the per-namespace layout)."""
    out: dict[str, list[dict]] = {}
    for d in docs:
        out.setdefault(d["metadata"].get("namespace") or CLUSTER_SCOPED, []).append(d)
    return sorted(out.items())


def _ruleset_record(rs, res, findings, outputs) -> dict:
    """One ruleset of the report; lint's copies of the compiler's approximations are left out
    (they are under "approximations" already)."""
    findings = [f for f in findings if f.kind != "approximation"]
    kinds = {}
    for f in findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    approx = [f.to_dict() for f in res.findings if f.kind in APPROXIMATIONS]
    return {
        "name": rs.name,
        "default": rs.default,
        "rule_lines": rs.lines_seen,
        "rules": len(rs.rules),
        "skipped": [f.to_dict() for f in res.findings if f.kind == "skipped"],
        "folded": rs.folded,
        "policies": len(res.policies),
        "outputs": outputs,
        "policy_names": sorted(
            f"{p['metadata'].get('namespace') or CLUSTER_SCOPED}/{p['metadata']['name']}" for p in res.policies
        ),
        "warnings": [str(w) for w in rs.warnings],
        "approximations": approx,
        "out_of_scope": {
            "rules": [f.to_dict() for f in res.findings if f.kind == "out-of-reach"],
            "rules_partly_out_of_reach": res.stats.get("rules_partly_out_of_reach", 0),
        },
        "shadowed": [f.to_dict() for f in findings if f.kind in ("shadowed", "never-matches")],
        "lint": [f.to_dict() for f in findings],
        "lint_counts": dict(sorted(kinds.items())),
    }


def clean_temp(outdir: str) -> int:
    """Remove temporary files an interrupted run left (write_atomic's '.NAME.*.tmp')."""
    n = 0
    for p in Path(outdir).rglob(".*.tmp"):
        if p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_SECONDS = 0.5
WATCHDOG_GRACE_SECONDS = 60  # past FW2NP_TIME_LIMIT, a worker that has not answered is stopped


def _worker_init(parent: int) -> None:
    """In each worker: Ctrl-C is the parent's to handle; the worker dies when the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler, inherited by fork
    _die_with(parent)


def _die_with(parent: int) -> None:
    """Exit when process PARENT is gone (SIGTERM, SIGKILL, a crash): Linux's parent-death signal,
    and, wherever that is missing, a thread that sees the parent id change."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent went before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="fw2np-parent-watch", daemon=True).start()


def run_jobs(jobs: list[Job], workers: int, on_done=None, on_begin=None) -> list[dict]:
    """Convert every job (in WORKERS processes); ON_BEGIN(job) as each starts, ON_DONE(record) after each."""
    records = []
    if workers <= 1 or len(jobs) <= 1:
        results = ((job, "ok", _serial(job, on_begin)) for job in jobs)
    else:
        limit = limits.time_limit()  # the worker's own alarm ends a slow file; this catches a worker that hangs
        item_seconds = limit + WATCHDOG_GRACE_SECONDS if limit else 0
        results = pool.run(convert_file, jobs, workers, _worker_init, (os.getpid(),), on_begin, item_seconds)
    with closing(results):
        for job, status, rec in results:
            if status != "ok":  # a crashed worker fails its file only
                rec = {
                    "path": job.rel,
                    "status": "failed",
                    "format": job.source_format,
                    "format_source": "--from" if job.source_format else None,
                    "inventory": job.inventory,
                    "error": f"{job.path}: error: conversion crashed: {rec}",
                    "seconds": 0.0,
                }
            records.append(rec)
            if on_done:
                on_done(rec)
    return records


def _serial(job: Job, on_begin=None) -> dict:
    if on_begin:
        on_begin(job)
    return convert_file(job)


def collisions(records: list[dict]) -> list[dict]:
    """Policies with the same namespace/name from different rulesets (applying both loses one)."""
    seen: dict[str, list[str]] = {}
    for rec in records:
        for r in rec.get("rulesets", []):
            for name in r["policy_names"]:
                seen.setdefault(name, []).append(f"{rec['path']}:{r['name']}")
    return [{"policy": k, "from": v} for k, v in sorted(seen.items()) if len(v) > 1]


def build_report(records: list[dict], meta: dict) -> dict:
    files = sorted(({k: v for k, v in r.items() if k != "seconds"} for r in records), key=lambda r: r["path"])
    rss = [rs for f in files for rs in f.get("rulesets", [])]
    totals = {
        "files": len(files),
        "converted": sum(f["status"] == "ok" for f in files),
        "failed": sum(f["status"] == "failed" for f in files),
        "skipped": sum(f["status"] == "skipped" for f in files),
        "rulesets": len(rss),
        "rules": sum(r["rules"] for r in rss),
        "policies": sum(r["policies"] for r in rss),
        "warnings": sum(len(r["warnings"]) for r in rss),
        "approximations": sum(len(r["approximations"]) for r in rss),
        "out_of_scope_rules": sum(len(r["out_of_scope"]["rules"]) for r in rss),
        "shadowed_rules": sum(len(r["shadowed"]) for r in rss),
        "lint_findings": sum(len(r["lint"]) for r in rss),
    }
    seconds = meta.pop("_seconds", None)
    return {
        "fw2np_batch_report": 1,
        **meta,
        "totals": totals,
        "collisions": collisions(records),
        "files": files,
        "timing": {
            "total_seconds": seconds,
            "files": {r["path"]: r["seconds"] for r in sorted(records, key=lambda r: r["path"])},
        },
    }


def render_html(report: dict) -> str:
    """report.html: autoescaped template from templates/, the report as data only."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from ..io.resources import templates_dir

    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(report=report)


def write_report(outdir: str, report: dict) -> None:
    """report/report.json and report/report.html, and manifests/Kustomization listing every manifest."""
    prefix = f"{MANIFESTS}/"
    outputs = [o[len(prefix) :] for f in report["files"] for r in f.get("rulesets", []) for o in r["outputs"]]
    kust = kustomization(outputs)
    write_in_tree(outdir, f"{MANIFESTS}/{KUSTOMIZATION}", lambda fh: fh.write(kust))
    text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    write_in_tree(outdir, f"{REPORT_DIR}/report.json", lambda fh: fh.write(text))
    html = render_html(report)
    write_in_tree(outdir, f"{REPORT_DIR}/report.html", lambda fh: fh.write(html))


def run_batch(
    input_dir: str,
    outdir: str,
    inventory: str | None,
    workers: int = 1,
    layout: str = "per-input",
    host_map: str | None = None,
    source_format: str | None = None,
    exclude=(),
    columns=None,
    on_start=None,
    on_done=None,
    on_begin=None,
    target: str = "networkpolicy",
    definitions: str | None = None,
) -> dict:
    """Convert every file under INPUT_DIR into OUTDIR; the report (also written there).  ON_START(jobs)
    once, ON_BEGIN(job) as a file starts, ON_DONE(record) as it ends."""
    t0 = time.perf_counter()
    if Path(outdir).resolve() == Path(input_dir).resolve():
        raise InputError("the output directory must differ from the input directory", Loc(str(outdir)))
    if host_map and not inventory:
        raise InputError("--host-map needs --inventory")
    hosts = load_host_map(host_map, _inventory(inventory)) if host_map else []
    if inventory:
        _inventory(inventory)  # a bad global inventory is a usage error, before any work
    inputs = find_inputs(input_dir, skip=[inventory, host_map, outdir], exclude=list(exclude))
    Path(outdir).mkdir(parents=True, exist_ok=True)
    # an interrupted run must not leave an older, complete-looking report or Kustomization
    for rel in [f"{REPORT_DIR}/{n}" for n in REPORT_FILES] + [f"{MANIFESTS}/{KUSTOMIZATION}"]:
        remove_in_tree(outdir, rel)
    clean_temp(outdir)
    jobs = [
        Job(
            rel,
            p,
            outdir,
            nearest(p, input_dir, INVENTORY_NAMES) or inventory,
            layout,
            host_for(rel, hosts),
            source_format,
            {k: v for k, v in (("columns", columns), ("definitions", definitions)) if v},
            None if host_for(rel, hosts) else nearest(p, input_dir, HOST_MAP_NAMES),
            target,
        )
        for rel, p in inputs
    ]
    if on_start:
        on_start(jobs)
    try:
        records = run_jobs(jobs, workers, on_done, on_begin)
    except BaseException:  # interrupted: whole files stay, temporary ones go; no report
        clean_temp(outdir)
        raise
    meta = {
        "input_dir": str(input_dir),
        "output_dir": str(outdir),
        "inventory": inventory,  # None: each file's own inventory.yaml (its record says which)
        "layout": layout,
        **({"target": target} if target != "networkpolicy" else {}),
        "_seconds": round(time.perf_counter() - t0, 3),
    }
    report = build_report(records, meta)
    write_report(outdir, report)
    return report
