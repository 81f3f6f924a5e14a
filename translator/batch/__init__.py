"""Converting a whole estate of exports: one manifest per input, a report.

May import: errors, limits, pool, io, model, frontends, compiler, lint, targets.
"""
