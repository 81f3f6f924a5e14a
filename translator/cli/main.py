"""The fw2np command line."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from .. import __version__
from ..errors import InputError
from .options import (columns_option, format_option, from_option, host_option, inventory_option, output_file_option,
                      quiet_option, ruleset_option)


class Fw2npGroup(click.Group):
    """Turns bad input into 'file:line:col: error: ...' and exit code 2; see docs/errors.md.

    Any other exception is a one-line 'internal error' (exit 2); FW2NP_DEBUG=1 shows the traceback.
    """

    def invoke(self, ctx):
        from .. import limits

        alarm = limits.time_limit() if _can_alarm() else 0
        if alarm:
            old = signal.signal(signal.SIGALRM, _on_alarm)
            signal.alarm(alarm)
        try:
            return super().invoke(ctx)
        except InputError as exc:
            click.echo(exc.render(), err=True)
            ctx.exit(2)
        except limits.TimeLimit:
            click.echo(f"error: stopped after {alarm} s (bound FW2NP_TIME_LIMIT)", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            ctx.exit(2)
        except Exception as exc:  # noqa: BLE001 - the one place that catches everything
            if os.environ.get("FW2NP_DEBUG") == "1":
                raise
            click.echo(f"fw2np: internal error: {_one_line(exc)} "
                       f"(please report it; FW2NP_DEBUG=1 shows the traceback)", err=True)
            ctx.exit(2)
        finally:
            if alarm:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, old)


def _can_alarm() -> bool:
    return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum, frame):
    from ..limits import TimeLimit

    raise TimeLimit()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@click.group(cls=Fw2npGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fw2np")
def cli():
    """Translate ordered firewall rulesets into equivalent Kubernetes NetworkPolicies."""


@cli.command()
@click.argument("rules", type=click.Path(dir_okay=False))
@inventory_option(required=True)
@output_file_option("Write all manifests to this file.")
@click.option("-d", "--dir", "outdir", type=click.Path(file_okay=False), help="Write one file per namespace here.")
@format_option(["yaml", "json"], "yaml")
@from_option()
@ruleset_option("Which ruleset, when the input holds several (repeat it for rulesets of different directions).",
                multiple=True)
@host_option()
@columns_option("CSV column mapping, e.g. 'src=Source,dst=Destination,service=Service,action=Action'.")
@quiet_option("No summary on stderr.")
def convert(rules, inventory, output, outdir, fmt, source_format, ruleset_names, host, columns, quiet):
    """Compile RULES into NetworkPolicies (YAML on stdout unless -o or -d)."""
    from ..frontends import load
    from ..frontends.select import frontend_options, pick_many
    from ..model.inventory import load_inventory
    from ..io.manifests import emit, write_docs, write_per_namespace
    from ..compiler.synth import convert as compile_

    if output and outdir:
        raise click.UsageError("use -o or -d, not both")
    inv = load_inventory(inventory)
    chosen = pick_many(load(rules, source_format, **frontend_options(inv, host, columns)), ruleset_names)
    results = [compile_(rs, inv) for rs in chosen]
    policies = sorted((p for r in results for p in r.policies), key=lambda p: p["metadata"]["namespace"])
    if outdir:
        write_per_namespace(policies, outdir, fmt)
    elif output:
        write_docs(output, policies, fmt)
    else:
        emit(policies, fmt, sys.stdout)
    if not quiet:
        for result in results:
            _summary(result)
            from ..lint.checks import echo_summary; echo_summary(result, inv)  # noqa: E702


def _summary(result) -> None:
    st = result.stats
    click.echo(f"fw2np: {result.ruleset.name}: {st['rules']} rules read, {st['policies']} policies written "
               f"({st['peers']} peers), {len(result.findings)} findings", err=True)
    for w in result.ruleset.warnings:
        click.echo(f"  {w}", err=True)
    for f in result.findings:
        click.echo(f"  {f}", err=True)


from .verify import verify as _verify, explain as _explain; cli.add_command(_verify); cli.add_command(_explain)  # noqa: E402,E702

from .reverse import reverse as _reverse; cli.add_command(_reverse)  # noqa: E402,E702

from .batch import batch as _batch, lint as _lint; cli.add_command(_batch); cli.add_command(_lint)  # noqa: E402,E702


def main() -> None:
    cli(prog_name="fw2np")


if __name__ == "__main__":
    main()
