"""The fw2np command: `main` (the click group), one module per command
(`explain` beside `verify`), `options` the options they share.  The only
package that talks to the terminal.

May import: every other package.
"""
