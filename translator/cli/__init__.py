"""The fw2np command: `main` (the click group and convert), one module per
other command.  The only package that talks to the terminal.

May import: every other package.
"""
