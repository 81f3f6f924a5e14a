"""Pictures of what a ruleset or a set of policies allows, for auditors: the workload matrix
(`matrix`), computed with the brute-force evaluators over verify's flow-class partition.

May import: errors, io, model, evaluate, verify, targets, frontends.
"""
