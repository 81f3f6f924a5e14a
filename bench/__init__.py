"""fw2np benchmarks: seeded ruleset generator, timing harness, aerleon side by side."""
