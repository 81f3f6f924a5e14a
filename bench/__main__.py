"""`python -m bench`: the benchmark table (see bench/README.md)."""

import sys

from .run import main

sys.exit(main())
