"""Input and output plumbing: package resources (grammars, templates), YAML and JSON
loading that keeps file:line:column, and atomic manifest writing.

May import: errors, limits.  Nothing here knows rulesets or policies.
"""
