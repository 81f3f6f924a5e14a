"""Run by bench/.venv-aerleon's Python: time aerleon's k8s generator on a JSON job.

The job holds the naming definitions and one policy dict (see aerleon_side.py).
Prints {"aerleon_s": seconds, "aerleon_bytes": output size} as JSON.
"""

import json
import sys
import time

from aerleon import api
from aerleon.lib import naming


def main(path: str) -> None:
    with open(path) as f:
        job = json.load(f)
    t = time.perf_counter()
    defs = naming.Naming()
    defs.ParseDefinitionsObject(job["definitions"], "")
    out = api.Generate([job["policy"]], defs)
    elapsed = time.perf_counter() - t
    print(json.dumps({"aerleon_s": elapsed, "aerleon_bytes": sum(len(v) for v in (out or {}).values())}))


if __name__ == "__main__":
    main(sys.argv[1])
