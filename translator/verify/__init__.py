"""Proving policies equivalent to a ruleset, or listing the flows that differ:
`partition` (the flow classes: `classes` of pods, IPs and services, from what
the policies test, `source`, their `selectors`, and the ruleset's `addresses`),
`index` and `walk` (the indexed walk), `pairs` (the pair walk, a test oracle),
`legacy` (decisions from concrete legacy flows), `report`, `explain` (one
flow), `kinds` (the categories of a difference), `core` (the `verify` entry
point).

May import: errors, limits, io, model, evaluate, frontends.common (the ICMP type
names), compiler (only to list the compiler's reported approximations, never to
decide a flow).
"""
