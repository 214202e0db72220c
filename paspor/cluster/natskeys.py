"""The NATS keys of a compose deployment: each user's seed and public key in an env file, made once.

Compose reads `.env` beside `compose.yaml`: the services take their seed (`NATS_KEY_<USER>`), the
NATS nodes every public key (`NATS_PUB_<USER>`). A key already in the file is kept, so running the
command again adds only what is missing; replacing a key means deleting its two lines first.
"""

from __future__ import annotations

import os
from pathlib import Path

from shared.runtime.natsauth import check_seed, new_seed, public_key
from shared.runtime.permissions import USERS

from .natsconf import public_variable, seed_variable


def read_env(path: Path) -> tuple[list[str], dict[str, str]]:
    """The file's lines and its VARIABLE=value pairs (an absent file: none)."""
    lines = path.read_text().splitlines() if path.exists() else []
    pairs = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
    return lines, {key.strip(): value.strip() for key, value in pairs.items()}


def write_keys(path: Path) -> list[str]:
    """Add the missing users' keys to the env file (readable by its owner only); the users added."""
    lines, known = read_env(path)
    added = []
    for user in USERS:
        seed = known.get(seed_variable(user))
        if seed is None:
            seed = new_seed()
            lines.append(f"{seed_variable(user)}={seed}")
            added.append(user)
        try:
            check_seed(seed)
        except ValueError as error:
            raise ValueError(f"{path}: {seed_variable(user)}: {error}") from None
        wanted = f"{public_variable(user)}={public_key(seed)}"
        lines = [line for line in lines if not line.startswith(f"{public_variable(user)}=")] + [wanted]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines) + "\n")
    path.chmod(0o600)
    return added
