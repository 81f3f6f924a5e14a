"""NetworkPolicies back to an ordered firewall table: `match` (which pods a
selector picks), `table` (the table), `rules` (back to the ruleset language),
`render` (ruleset model to text), `formats` (table, markdown, csv, html).

May import: errors, io, model, evaluate, compiler.ipblocks, compiler.universe, frontends.
"""
