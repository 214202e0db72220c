"""Reading `compose.yaml`: the services, their `paspor` commands and environments.

The local cluster runs exactly these commands; only the addresses change (container host names
become loopback ports) and the values compose would take from the operator's environment
(`${VAR:?...}`) are supplied by the local cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class ComposeError(ValueError):
    """compose.yaml is missing something the cluster needs."""


@dataclass(frozen=True)
class ServiceSpec:
    """One `paspor` service of the compose file."""

    name: str
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """booking, quota, notifier or gateway (from `paspor service KIND`)."""
        return self.command[1] if self.command[:1] == ["service"] else self.command[0]


def default_path() -> Path:
    """compose.yaml in the current folder, else the one of this source tree."""
    here = Path("compose.yaml")
    return here if here.exists() else Path(__file__).resolve().parents[2] / "compose.yaml"


def load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ComposeError(f"{path} not found")
    return yaml.safe_load(path.read_text())


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if variables.get(name):
            return variables[name]
        if op == ":-":
            return arg
        if op == ":?":
            raise ComposeError(f"{name} is required: {arg}")
        return ""

    return INTERPOLATION.sub(replace, value)


def paspor_services(
    compose: dict[str, Any], variables: Mapping[str, str], rewrite: Callable[[str], str] = lambda v: v
) -> list[ServiceSpec]:
    """The services whose image is the project's, with their environments resolved."""
    specs = []
    for name, service in compose["services"].items():
        if not str(service.get("image", "")).startswith("antrian-paspor"):
            continue
        environment = {
            key: rewrite(interpolate(str(value), variables))
            for key, value in (service.get("environment") or {}).items()
        }
        specs.append(ServiceSpec(name, [str(part) for part in service["command"]], environment))
    if not specs:
        raise ComposeError("compose.yaml has no service of the antrian-paspor image")
    return specs


def nats_nodes(compose: dict[str, Any]) -> list[str]:
    """The NATS cluster's node names (services of the nats image)."""
    return [name for name, service in compose["services"].items() if str(service.get("image", "")).startswith("nats:")]
