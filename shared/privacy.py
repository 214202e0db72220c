"""Masking personal data for logs, messages and reports."""


def mask_number(value: str) -> str:
    """Keep the first four and last four digits of a NIK or KK: 3174********0001."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
