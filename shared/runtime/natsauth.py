"""How a process proves who it is to NATS: its user, nkey seed and TLS files, from settings; making keys.

Each service and tool is one NATS user with an nkey (an Ed25519 key pair: the server holds the
public key and sends a challenge, the client signs it with its seed, so no secret crosses the
wire). `shared/runtime/permissions.py` says what each user may do; this module only logs in.
"""

from __future__ import annotations

import base64
import binascii
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nkeys  # type: ignore[import-untyped]  # no stubs; four calls, all checked by the tests
from faststream.nats import NatsNKey, NatsSecurity
from pydantic import BaseModel, Field, SecretStr, model_validator

from .permissions import inbox

USER_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"


class NatsLogin(BaseModel):
    """The NATS login settings every process shares (fields of CommonSettings, `PASPOR_NATS_*`)."""

    nats_user: str | None = Field(
        default=None,
        pattern=USER_PATTERN,
        description="This process's NATS user (gateway, booking, quota, notifier, operator, auditor); its "
        "replies arrive on _INBOX.<user>. Needed with an nkey.",
    )
    nats_nkey_file: Path | None = Field(
        default=None, description="File holding this process's NATS nkey seed (`paspor up` makes them)."
    )
    nats_nkey_seed: SecretStr | None = Field(
        default=None, description="The nkey seed itself, instead of a file (e.g. from a secret store)."
    )
    nats_tls_ca_file: Path | None = Field(
        default=None, description="CA certificate(s) that sign the NATS servers' certificates: connect with TLS."
    )
    nats_tls_cert_file: Path | None = Field(default=None, description="Client certificate for mutual TLS (PEM).")
    nats_tls_key_file: Path | None = Field(default=None, description="The client certificate's private key (PEM).")

    @model_validator(mode="after")
    def _consistent(self) -> NatsLogin:
        if self.nats_nkey_file is not None and self.nats_nkey_seed is not None:
            raise ValueError("give PASPOR_NATS_NKEY_FILE or PASPOR_NATS_NKEY_SEED, not both")
        seed = self.seed()
        if seed is not None:
            check_seed(seed)
            if self.nats_user is None:
                raise ValueError("PASPOR_NATS_USER is required with an nkey (its replies come on _INBOX.<user>)")
        if (self.nats_tls_cert_file is None) != (self.nats_tls_key_file is None):
            raise ValueError("PASPOR_NATS_TLS_CERT_FILE and PASPOR_NATS_TLS_KEY_FILE go together")
        for path in (self.nats_tls_ca_file, self.nats_tls_cert_file, self.nats_tls_key_file):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a file")
        return self

    def seed(self) -> str | None:
        """The nkey seed, read from its file or given directly; None without authentication."""
        if self.nats_nkey_seed is not None:
            return self.nats_nkey_seed.get_secret_value().strip()
        if self.nats_nkey_file is None:
            return None
        try:
            return self.nats_nkey_file.read_text().strip()
        except OSError as error:
            raise ValueError(f"cannot read the NATS nkey file {self.nats_nkey_file}: {error.strerror}") from None

    def tls(self) -> ssl.SSLContext | None:
        """A TLS context that checks the servers against the configured CA (and shows our certificate)."""
        if self.nats_tls_ca_file is None:
            return None
        context = ssl.create_default_context(cafile=str(self.nats_tls_ca_file))
        if self.nats_tls_cert_file is not None and self.nats_tls_key_file is not None:
            context.load_cert_chain(str(self.nats_tls_cert_file), str(self.nats_tls_key_file))
        return context

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect`: the seed, this user's inbox, TLS."""
        options: dict[str, Any] = {}
        if self.nats_user is not None:
            options["inbox_prefix"] = inbox(self.nats_user)
        seed = self.seed()
        if seed is not None:
            options["nkeys_seed_str"] = seed
        context = self.tls()
        if context is not None:
            options["tls"] = context
        return options

    def broker_options(self) -> dict[str, Any]:
        """Keyword arguments for faststream's `NatsBroker` (the same login, as its `security`)."""
        options: dict[str, Any] = {}
        if self.nats_user is not None:
            options["inbox_prefix"] = inbox(self.nats_user)
        seed, context = self.seed(), self.tls()
        if seed is not None:
            options["security"] = NatsNKey.from_seed(seed, ssl_context=context, use_ssl=context is not None)
        elif context is not None:
            options["security"] = NatsSecurity(ssl_context=context, use_ssl=True)
        return options


def check_seed(seed: str) -> None:
    """A user's nkey seed (SU...), or ValueError saying what is wrong with it (never the seed itself)."""
    if not seed.startswith("SU"):
        raise ValueError("the NATS nkey seed must be a user seed (it starts with SU)")
    try:
        decoded = base64.b32decode(seed + "=" * (-len(seed) % 8))
    except binascii.Error:
        raise ValueError("the NATS nkey seed is not base32 (a copying error?)") from None
    body, checksum = decoded[:-2], decoded[-2:]
    if len(body) != 34 or bytes(nkeys.crc16_checksum(body)) != checksum:
        raise ValueError("the NATS nkey seed is damaged (wrong length or checksum)")


def new_seed() -> str:
    """A new user nkey seed."""
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()


def public_key(seed: str) -> str:
    """The public key (U...) of a user seed: what the server's configuration holds."""
    return nkeys.from_seed(bytearray(seed.encode())).public_key.decode()


class KeyFolder:
    """One nkey seed file per user (`<user>.nk`, readable by its owner only), made once and kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, user: str) -> Path:
        return self.folder / f"{user}.nk"

    def seed(self, user: str) -> str:
        """The user's seed, made now if it does not exist yet."""
        path = self.path(user)
        if not path.exists():
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(new_seed() + "\n")
        seed = path.read_text().strip()
        check_seed(seed)
        return seed

    def public_keys(self, users: Iterable[str]) -> dict[str, str]:
        """Every user's public key (making the missing seeds)."""
        return {user: public_key(self.seed(user)) for user in users}

    def environment(self, user: str) -> dict[str, str]:
        """The `PASPOR_NATS_*` variables with which a process logs in as `user`."""
        self.seed(user)
        return {"PASPOR_NATS_USER": user, "PASPOR_NATS_NKEY_FILE": str(self.path(user))}


KEYS_FOLDER = "nats-keys"  # in a data folder: the seeds `paspor up` and `paspor cluster up` made


def login_from(settings: NatsLogin, user: str, data_dir: Path) -> NatsLogin:
    """The settings' own login when they name a key; else `user`'s key in the data folder, when there is one
    (a command run beside `paspor up`); else the settings as they are (no authentication)."""
    if settings.seed() is not None:
        return settings
    folder = KeyFolder(data_dir / KEYS_FOLDER)
    if not folder.path(user).exists():
        return settings
    tls = settings.model_dump(include={"nats_tls_ca_file", "nats_tls_cert_file", "nats_tls_key_file"})
    return NatsLogin(nats_user=user, nats_nkey_file=folder.path(user), **tls)
