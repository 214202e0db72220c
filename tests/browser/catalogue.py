"""The frontends' message catalogue, as the browser tests read it: what the page should say, in either language."""

from __future__ import annotations

import json
import re
from functools import cache

from services.gateway.routes_web import WEB


@cache
def messages(language: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((WEB / "messages").glob("*.json")):
        merged.update(json.loads(path.read_text())[language])
    return merged


def say(language: str, key: str, **values: object) -> str:
    """The text for `key` in `language`, with its {placeholders} filled in."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), messages(language)[key])
