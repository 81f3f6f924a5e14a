"""Click options that several commands share, as decorators.

A command passes its own help text where its wording differs; the texts the
commands have in common are the defaults here.
"""

from __future__ import annotations

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
    """--columns: the CSV column mapping (parameter `columns`)."""
    return click.option("--columns", help=text)


def output_file_option(text: str):
    """-o/--output: a file to write instead of stdout (parameter `output`)."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False), help=text)


def format_option(choices=TEXT_OR_JSON, default: str = "text", text: str | None = None):
    """--format: the output format (parameter `fmt`)."""
    return click.option("--format", "fmt", type=click.Choice(choices), default=default, show_default=True, help=text)


def quiet_option(text: str):
    """-q/--quiet (parameter `quiet`)."""
    return click.option("-q", "--quiet", is_flag=True, help=text)
