"""Concrete flow endpoints for the brute-force evaluators: a Pod or an Ip."""

from __future__ import annotations

from dataclasses import dataclass

PORT_PROTOS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True)
class Pod:
    """A pod: namespace, sorted labels, named container ports, optional IP."""

    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, str, int], ...] = ()
    ip: str | None = None

    @staticmethod
    def of(namespace: str, labels: dict[str, str] | None = None, ports=None, ip: str | None = None) -> Pod:
        """Build a Pod; PORTS is {name: number | (proto, number)} or [(name, proto, number)]."""
        items = []
        if isinstance(ports, dict):
            for name, val in ports.items():
                proto, num = val if isinstance(val, (tuple, list)) else ("TCP", val)
                items.append((str(name), str(proto).upper(), int(num)))
        elif ports:
            items = [(str(n), str(p).upper(), int(v)) for n, p, v in ports]
        return Pod(namespace, tuple(sorted((labels or {}).items())), tuple(sorted(items)), ip)

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    def port_number(self, name: str, protocol: str) -> int | None:
        """The number of the named container port NAME with PROTOCOL, or None."""
        for n, p, v in self.ports:
            if n == name and p == protocol:
                return v
        return None

    def __str__(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in self.labels)
        return f"pod {self.namespace}/{{{labels}}}"


@dataclass(frozen=True)
class Ip:
    """An IPv4 or IPv6 address outside the cluster (NAME: the DNS name it was resolved from, if any)."""

    address: str
    name: str | None = None

    def __str__(self) -> str:
        return self.address


Endpoint = Pod | Ip
