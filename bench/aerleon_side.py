"""Aerleon side by side: its Kubernetes generator and fw2np on the same accept-only rules.

aerleon is installed only into bench/.venv-aerleon (created on first use,
git-ignored), never into fw2np's environment.  Aerleon's k8s target writes one
ingress NetworkPolicy for all pods from terms of (source-address, protocol,
destination-port): it has no destination workloads.  Each generated accept
rule becomes one such term, so both tools read the same N rules; fw2np also
places every rule on its destination workloads, which aerleon does not do.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

from . import generate

DRIVER = Path(__file__).resolve().parent / "aerleon_driver.py"


def _cidrs(addr: str) -> list[str]:
    if addr == "any":
        return ["0.0.0.0/0"]
    if "-" in addr:
        a, b = (ipaddress.ip_address(x) for x in addr.split("-"))
        return [str(n) for n in ipaddress.summarize_address_range(a, b)]
    return [addr]


def aerleon_job(g: generate.Generated) -> dict:
    """Naming definitions and a policy dict for aerleon's api.Generate."""
    nets: dict[str, str] = {}
    svcs: dict[tuple, str] = {}
    terms = []
    for k, r in enumerate(g.rules[:-1], 1):  # the cleanup deny is aerleon's default deny term
        net = nets.setdefault(r.src, f"N{len(nets) + 1}")
        term = {"name": f"t{k}", "source-address": net, "action": "accept"}
        if r.svc.proto != "any":
            svc = svcs.setdefault((r.svc.proto, r.svc.lo, r.svc.hi), f"S{len(svcs) + 1}")
            term.update({"protocol": r.svc.proto, "destination-port": svc})
        terms.append(term)
    terms.append({"name": "default-deny", "action": "deny"})
    definitions = {
        "networks": {name: {"values": [{"address": c} for c in _cidrs(addr)]} for addr, name in nets.items()},
        "services": {
            name: [{"port": str(lo) if lo == hi else f"{lo}-{hi}", "protocol": proto}]
            for (proto, lo, hi), name in svcs.items()
        },
    }
    policy = {"filename": "bench", "filters": [{"header": {"targets": {"k8s": ""}}, "terms": terms}]}
    return {"definitions": definitions, "policy": policy}


class AerleonSide:
    def __init__(self, venv: Path):
        self.venv = Path(venv)
        self.python = self.venv / "bin" / "python"
        self.error = ""
        self._ready: bool | None = None

    def ready(self) -> bool:
        if self._ready is None:
            self._ready = self._setup()
        return self._ready

    def _setup(self) -> bool:
        try:
            if not self.python.exists():
                print(
                    "aerleon: creating bench/.venv-aerleon and installing aerleon from PyPI ...",
                    file=sys.stderr,
                    flush=True,
                )
                subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True, capture_output=True)
                subprocess.run(
                    [str(self.python), "-m", "pip", "install", "-q", "aerleon"],
                    check=True,
                    capture_output=True,
                    timeout=600,
                )
            subprocess.run([str(self.python), "-c", "import aerleon.api"], check=True, capture_output=True)
            return True
        except (subprocess.SubprocessError, OSError) as exc:
            err = getattr(exc, "stderr", b"") or b""
            self.error = (err.decode(errors="replace").strip().splitlines() or [str(exc)])[-1]
            return False

    def compare(self, n: int, workloads: int, seed: int, workdir: str) -> dict:
        """Time aerleon and fw2np convert on the same accept-only ruleset of N rules."""
        d = Path(workdir)
        d.mkdir(parents=True, exist_ok=True)
        g = generate.generate(n, workloads, 0.0, seed, accept_only=True)
        generate.write(g, d)
        job = d / "aerleon-job.json"
        job.write_text(json.dumps(aerleon_job(g)))
        out: dict = {}
        p = subprocess.run([str(self.python), str(DRIVER), str(job)], capture_output=True, text=True, cwd=d)
        if p.returncode != 0:
            out["aerleon_error"] = (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1][:200]
        else:
            out.update(json.loads(p.stdout.strip().splitlines()[-1]))
        p = subprocess.run(
            [sys.executable, "-m", "bench.aerleon_side", str(d)],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        if p.returncode != 0:
            out["fw2np_accept_error"] = (p.stderr.strip().splitlines() or ["failed"])[-1][:200]
        else:
            out.update(json.loads(p.stdout.strip().splitlines()[-1]))
        if out.get("aerleon_s") and out.get("fw2np_accept_s"):
            out["aerleon_ratio"] = out["fw2np_accept_s"] / out["aerleon_s"]
        return out


def time_fw2np(workdir: str) -> dict:
    """Parse and convert the accept-only ruleset written in WORKDIR (what aerleon also reads)."""
    from translator.compiler.synth import convert
    from translator.frontends import rules
    from translator.model.inventory import parse_inventory

    d = Path(workdir)
    t = time.perf_counter()
    rs = rules.parse((d / "rules.fw").read_text(), str(d / "rules.fw"))
    inv = parse_inventory((d / "inventory.yaml").read_text(), str(d / "inventory.yaml"))
    res = convert(rs, inv)
    return {"fw2np_accept_s": time.perf_counter() - t, "fw2np_accept_policies": len(res.policies)}


if __name__ == "__main__":
    print(json.dumps(time_fw2np(sys.argv[1])))
