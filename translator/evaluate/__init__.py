"""Brute-force reference evaluators for single flows.

They share no set algebra with the compiler (space, semantics, resolve, cidr,
selectors, synth) so that they can catch its bugs.
"""

from .endpoints import Endpoint, Ip, Pod
from .firewall import FirewallEvaluator
from .netpol import NetpolEvaluator

__all__ = ["Endpoint", "Ip", "Pod", "FirewallEvaluator", "NetpolEvaluator"]
