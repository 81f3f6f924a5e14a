"""The flow classes: pod classes, external IP classes, service classes."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.inventory import NAME_LABEL


@dataclass(frozen=True)
class PodClass:
    """Pods alike for both decisions: a namespace class and a pod label class."""

    namespace: str
    ns_labels: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]
    governed: bool
    workload: str | None = None
    ports: tuple[tuple[str, str, int], ...] = ()
    world: tuple | None = None  # the namespace-label assignment its evaluator needs
    open_ports: bool = False  # may declare any named port (not a workload pod)
    ip: str | None = None  # a pod IP, when ipBlocks may match pods

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def __str__(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels) or "(no labels)"
        out = f"pod {self.namespace}/{labels}"
        if self.workload:
            out += f" (workload {self.workload})"
        elif self.governed:
            out += " (no workload)"
        else:
            extra = {k: v for k, v in self.ns_labels if k != NAME_LABEL}
            ns = ",".join(f"{k}={v}" for k, v in sorted(extra.items()))
            out += f" (namespace outside the inventory{', labels ' + ns if ns else ''})"
        if self.ip:
            out += f" with pod IP {self.ip}"
        return out


@dataclass(frozen=True)
class IpClass:
    """External addresses alike for both decisions; ADDRESS represents them."""

    address: str
    version: int
    intervals: int

    def __str__(self) -> str:
        return self.address


@dataclass(frozen=True)
class SvcClass:
    proto: int
    port: int
    intervals: int
