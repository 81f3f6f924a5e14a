"""Shadowed, redundant, conflicting and risky rules: `checks` (the linter),
`regions` (boxes of flows).

May import: errors, io, model, compiler, pool.
"""
