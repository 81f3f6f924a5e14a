"""Placeholder: being written."""

NAME = "cisco-ios"


def detect(text: str, path: str) -> int:
    return 0


def load(text: str, path: str, **_options):
    from ..errors import InputError
    raise InputError("this format is not supported yet")
