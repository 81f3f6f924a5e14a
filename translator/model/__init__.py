"""The vendor-independent model every stage shares: the ruleset (`ruleset`), the
inventory (`inventory`), NetworkPolicy loading and validation (`policies`),
Kubernetes names (`names`), interval sets over addresses and services (`space`)
and the resolver of address/service objects to those sets (`resolve`).

May import: errors, limits, io.
"""
