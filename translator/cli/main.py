"""The fw2np click group: turns every error into one line and an exit code."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

import click

from .. import __version__
from ..errors import InputError
from .batch import batch
from .convert import convert
from .diff import diff
from .lint import lint
from .matrix import matrix
from .reverse import reverse
from .verify import explain, verify


class Fw2npGroup(click.Group):
    """Turns bad input into 'file:line:col: error: ...' and exit code 2; see docs/errors.md.

    A closed stdout (`fw2np convert ... | head`) ends quietly with exit 141, as SIGPIPE would end a
    C tool.  Any other exception is a one-line 'internal error' (exit 2); FW2NP_DEBUG=1 shows the
    traceback.
    """

    def invoke(self, ctx):
        from .. import limits

        try:
            limits.check_all()
            seconds = limits.time_limit()
        except InputError as exc:  # a malformed bound in the environment
            click.echo(exc.render(), err=True)
            ctx.exit(2)
        with limits.time_limit_alarm(seconds) as alarm, _sigterm_as_interrupt():
            try:
                try:
                    return super().invoke(ctx)
                finally:  # output still buffered must reach a closed pipe here, not at exit
                    _flush()
            except BrokenPipeError:  # the reader went away (`| head`): end quietly, as SIGPIPE would
                _silence_stdout()
                ctx.exit(EXIT_BROKEN_PIPE)
            except InputError as exc:
                click.echo(exc.render(), err=True)
                ctx.exit(2)
            except limits.TimeLimit:
                click.echo(f"error: stopped after {alarm} s (bound FW2NP_TIME_LIMIT)", err=True)
                ctx.exit(2)
            except Terminated:
                click.echo("terminated", err=True)
                ctx.exit(128 + signal.SIGTERM)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                ctx.exit(130)
            except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
                raise
            except OSError as exc:
                where = f": {exc.filename}" if exc.filename else ""
                click.echo(f"error: {exc.strerror or exc}{where}", err=True)
                ctx.exit(2)
            except Exception as exc:  # the one place that catches everything
                if os.environ.get("FW2NP_DEBUG") == "1":
                    raise
                click.echo(
                    f"fw2np: internal error: {_one_line(exc)} (please report it; FW2NP_DEBUG=1 shows the traceback)",
                    err=True,
                )
                ctx.exit(2)


EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # 141, what a shell reports for a process ended by SIGPIPE


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and not stream.closed:
            stream.flush()


def _silence_stdout() -> None:
    """Point stdout and stderr at /dev/null, so that flushing them at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer)
            pass
    os.close(devnull)


class Terminated(KeyboardInterrupt):
    """SIGTERM: handled exactly as Ctrl-C (the same cleanup), exit 143 (128 + SIGTERM)."""


def _on_sigterm(signum, frame):
    raise Terminated()


@contextmanager
def _sigterm_as_interrupt():
    """SIGTERM raises Terminated (a KeyboardInterrupt) in the main thread while the command runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@click.group(cls=Fw2npGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fw2np")
def cli():
    """Translate ordered firewall rulesets into equivalent Kubernetes NetworkPolicies."""


cli.add_command(batch)
cli.add_command(convert)
cli.add_command(diff)
cli.add_command(explain)
cli.add_command(lint)
cli.add_command(matrix)
cli.add_command(reverse)
cli.add_command(verify)


def main() -> None:
    cli(prog_name="fw2np")


if __name__ == "__main__":
    main()
