"""Kubernetes name and label rules, and a stable mapping into them."""

from __future__ import annotations

import hashlib
import re

# Matched with fullmatch: a `$` anchor would also match before a final newline ("staging\n").
# The character classes are ASCII ranges, as the API server's regular expressions.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QNAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# IANA_SVC_NAME: a named container port (at most 15, lowercase letters, digits and single inner '-', one letter)
_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*")
_DIGITS = re.compile(r"[0-9]+")


def is_dns_label(s) -> bool:
    """S is an RFC 1123 label (a namespace name): at most 63 of [a-z0-9-], alphanumeric at both ends."""
    return isinstance(s, str) and len(s) <= 63 and bool(_LABEL.fullmatch(s))


def is_dns_subdomain(s) -> bool:
    """S is an RFC 1123 subdomain (an object name): at most 253, dot-separated labels."""
    return isinstance(s, str) and len(s) <= 253 and bool(_SUBDOMAIN.fullmatch(s))


def is_port_name(s) -> bool:
    """S is an IANA service name, as a named container port must be."""
    return isinstance(s, str) and 1 <= len(s) <= 15 and bool(_SVC_NAME.fullmatch(s)) and any(c.isalpha() for c in s)


def is_digits(s) -> bool:
    """Is S a non-empty run of ASCII digits?  (str.isdigit also holds for '²' and other scripts' digits,
    which int() then rejects or reads as another number.)"""
    return isinstance(s, str) and s.isascii() and s.isdigit()


def ascii_number(s) -> int | None:
    """S as a number if it is ASCII digits only (str.isdigit also accepts '²' and other scripts' digits)."""
    if isinstance(s, str) and len(s) <= 20 and _DIGITS.fullmatch(s):
        return int(s)
    return None


def label_key_error(key: str) -> str | None:
    """Why KEY is not a valid label key, or None."""
    if not isinstance(key, str) or not key:
        return "a label key must be a non-empty string"
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns_subdomain(prefix):
        return f"label key prefix {prefix!r} must be a DNS subdomain"
    if len(name) > 63 or not _QNAME.fullmatch(name):
        return f"label key {key!r} must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric"
    return None


def label_value_error(value) -> str | None:
    """Why VALUE is not a valid label value, or None."""
    if not isinstance(value, str):
        return "a label value must be a string (quote numbers and booleans)"
    if value == "" or (len(value) <= 63 and _QNAME.fullmatch(value)):
        return None
    return f"label value {value!r} must be at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric"


def dns_name(text: str, max_len: int = 63) -> str:
    """TEXT mapped to a valid DNS-1123 label, stable, with a hash when altered."""
    clean = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    clean = re.sub(r"-{2,}", "-", clean)
    if clean == text and 0 < len(clean) <= max_len:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    head = clean[: max_len - 7].rstrip("-") or "x"
    return f"{head}-{digest}"
