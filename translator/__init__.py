"""fw2np: ordered firewall rulesets to Kubernetes NetworkPolicies, and back."""

__version__ = "0.1.0"
