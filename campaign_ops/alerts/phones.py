"""Phone numbers for SMS alerts: E.164 (`+447700900123`), checked before anything is sent.

A number in a national form is the common mistake (`07700900123` is how a UK mobile is written at home); the
error says the E.164 form to use where it can be told.
"""

import re

from campaign_ops.errors import ConfigError

_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")
_SEPARATORS = re.compile(r"[\s().\-/]")


def _hint(raw: str) -> str:
    """What to write instead, when it can be told from the number alone."""
    digits = _SEPARATORS.sub("", raw)
    if _E164.match(digits):
        return f"use {digits} (no spaces or punctuation)"
    if digits.startswith("00") and _E164.match("+" + digits[2:]):
        return f"use +{digits[2:]} (+ instead of 00)"
    if re.fullmatch(r"07[0-9]{9}", digits):
        return f"use +44{digits[1:]} for a UK number"
    if re.fullmatch(r"0[1-9][0-9]{8,9}", digits):
        return f"use +44{digits[1:]} for a UK number, or your country's code instead of the leading 0"
    if re.fullmatch(r"[1-9][0-9]{7,14}", digits):
        return f"use +{digits} if {digits[:2]}… is the country code"
    return "E.164 is + then the country code and the number, e.g. +447700900123"


def e164(raw: str, setting: str) -> str:
    """`raw` as an E.164 number, or ConfigError naming the setting and the form to use."""
    number = raw.strip()
    if _E164.match(number):
        return number
    raise ConfigError(f"{setting}: {number!r} is not an E.164 phone number: {_hint(number)}")


def e164_list(raw: str, setting: str) -> tuple[str, ...]:
    """Several numbers separated by commas or semicolons, each E.164, in their order, without repeats."""
    numbers: list[str] = []
    for part in re.split(r"[,;]", raw):
        if part.strip():
            number = e164(part, setting)
            if number not in numbers:
                numbers.append(number)
    if not numbers:
        raise ConfigError(f"{setting}: no phone number given")
    return tuple(numbers)


def masked_number(number: str) -> str:
    """A number as it may be printed: its country code and last two digits (`+44…23`)."""
    return f"{number[:3]}…{number[-2:]}"
