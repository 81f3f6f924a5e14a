"""Converting a whole estate of exports: one manifest per input, a report.

May import: errors, limits, io, model, frontends, compiler, lint.
"""
