"""Click options that several commands share, as decorators.

A command passes its own help text where its wording differs; the texts the
commands have in common are the defaults here.
"""

from __future__ import annotations

import os

import click

INVENTORY_HELP = "Inventory YAML mapping legacy addresses to workloads."
HOST_HELP = "Inventory workload whose INPUT/OUTPUT (inbound/outbound) rules the input holds."
FROM_HELP = "Input format (detected when omitted)."
CSV_COLUMNS_HELP = "CSV column mapping for CSV inputs."
TEXT_OR_JSON = ["text", "json"]


def inventory_option(text: str = INVENTORY_HELP, required: bool = False):
    """-i/--inventory: an inventory YAML file (parameter `inventory`)."""
    return click.option("-i", "--inventory", "inventory", required=required, type=click.Path(dir_okay=False), help=text)


def from_option(text: str = FROM_HELP):
    """--from: the input format, one of the frontends' names or aliases, any case (parameter `source_format`)."""
    from ..frontends import ALIASES, FRONTENDS

    choices = click.Choice([*FRONTENDS, *ALIASES], case_sensitive=False)
    return click.option("--from", "source_format", type=choices, help=text)


def ruleset_option(text: str, multiple: bool = False):
    """--ruleset: which ruleset of the input (parameter `ruleset_name`, or `ruleset_names` when repeatable)."""
    if multiple:
        return click.option("--ruleset", "ruleset_names", multiple=True, help=text)
    return click.option("--ruleset", "ruleset_name", help=text)


def host_option(text: str = HOST_HELP):
    """--host: the inventory workload an INPUT/OUTPUT export protects (parameter `host`)."""
    return click.option("--host", "host", help=text)


def columns_option(text: str):
    """--columns: the CSV column mapping (parameter `columns`); and --definitions: a capirca policy's
    definitions folder (parameter `definitions`)."""
    columns = click.option("--columns", help=text)
    definitions = click.option(
        "--definitions",
        type=click.Path(file_okay=False),
        help="Capirca/aerleon definitions folder (NETWORK.net, SERVICES.svc; default: a def/ beside or "
        "above the policy).",
    )
    return lambda f: columns(definitions(f))


def output_file_option(text: str):
    """-o/--output: a file to write instead of stdout, '-' for stdout (parameter `output`).

    A bare format name (`-o json`, as kubectl spells it) is refused (exit 2) with a hint to
    use --format: a file named `json` is almost never what was meant; `-o ./json` writes one."""
    return click.option(
        "-o", "--output", type=click.Path(dir_okay=False), callback=_not_a_format, help=f"{text} ('-': stdout)"
    )


def _not_a_format(ctx, param, value):
    names = {"json", "yaml", "yml"}
    for p in ctx.command.params:
        if p.name == "fmt" and isinstance(p.type, click.Choice):
            names |= set(p.type.choices)
    if value in names:
        fmt = "yaml" if value == "yml" else value
        raise click.BadParameter(
            f"{value!r} names a file; for {fmt} on stdout use --format {fmt} (write ./{value} for a file of that name)"
        )
    return value


EXTENSION_FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}


def format_option(choices=TEXT_OR_JSON, default: str | None = "text", text: str | None = None):
    """--format: the output format (parameter `fmt`).  DEFAULT None: not given, so that
    `output_format` can take it from -o's file name."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default, show_default=default is not None, help=text
    )


def output_format(fmt: str | None, output: str | None, default: str = "yaml") -> str:
    """--format when given, else what -o's extension says (.json, .yaml, .yml), else DEFAULT."""
    if fmt:
        return fmt
    ext = os.path.splitext(output or "")[1].lower()
    return EXTENSION_FORMATS.get(ext, default)


def quiet_option(text: str):
    """-q/--quiet (parameter `quiet`)."""
    return click.option("-q", "--quiet", is_flag=True, help=text)
