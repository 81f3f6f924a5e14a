"""`python -m translator.cli`: the fw2np command."""

from .main import main

main()
