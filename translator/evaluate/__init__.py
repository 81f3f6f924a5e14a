"""Brute-force reference evaluators for single flows.

They share no set algebra with the compiler so that they can catch its bugs:
they may import errors, model.ruleset and model.inventory, never model.space,
model.resolve or compiler/.
"""

from .endpoints import Endpoint, Ip, Pod
from .firewall import FirewallEvaluator
from .netpol import NetpolEvaluator

__all__ = ["Endpoint", "Ip", "Pod", "FirewallEvaluator", "NetpolEvaluator"]
