"""The first-match compiler: a ruleset and an inventory to NetworkPolicies.

`universe` (pod classes, the reading of addresses, rules compiled per family),
`families` and `sweep` (decisions along one end), `svcclasses`, `synth` (the
policies and findings), `ipblocks`, `selectors`, `findings`.

May import: errors, limits, io, model.  Never imported by evaluate/.
"""
