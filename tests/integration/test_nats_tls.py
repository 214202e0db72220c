"""TLS to NATS, as docs/deployment.md describes it: the services check the server's certificate
against PASPOR_NATS_TLS_CA_FILE, and log in with their nkey over the encrypted connection."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.nats import NatsBroker

from paspor.natsserver import NatsServer
from shared import clock
from shared.runtime.bus import connect
from shared.runtime.natsauth import KeyFolder, NatsLogin, public_key
from shared.runtime.permissions import authorization
from shared.runtime.settings import CommonSettings


def certificate(subject: str, issuer_key, issuer_name, key, ca: bool) -> x509.Certificate:  # noqa: ANN001
    # real time on purpose: TLS libraries check validity against the machine's clock, not the pinned one
    now = clock.wall_clock()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def pem(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[NatsServer, Path, KeyFolder]]:
    """A nats-server that speaks TLS only (a certificate of a test CA) and lets in the gateway's key."""
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paspor test CA")])
    ca = certificate("paspor test CA", ca_key, ca_name, ca_key, ca=True)
    server = certificate("127.0.0.1", ca_key, ca_name, server_key, ca=False)
    encoding = serialization.Encoding.PEM
    ca_file = pem(tmp_path / "ca.pem", ca.public_bytes(encoding))
    cert_file = pem(tmp_path / "server.pem", server.public_bytes(encoding))
    key_file = pem(
        tmp_path / "server-key.pem",
        server_key.private_bytes(encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    keys = KeyFolder(tmp_path / "nats-keys")
    config = tmp_path / "tls.conf"
    config.write_text(
        f'tls {{\n  cert_file: "{cert_file}"\n  key_file: "{key_file}"\n}}\n'
        + authorization({"gateway": public_key(keys.seed("gateway"))}, 8)
    )
    login = NatsLogin(nats_user="gateway", nats_nkey_file=keys.path("gateway"), nats_tls_ca_file=Path(ca_file))
    running = NatsServer(tmp_path / "nats", config=config, login=login).start()
    yield running, Path(ca_file), keys
    running.stop()


async def test_a_service_checks_the_servers_certificate_and_logs_in_over_tls(tls_server):
    server, ca_file, keys = tls_server
    settings = CommonSettings(
        nats_url=f"tls://127.0.0.1:{server.port}",
        nats_user="gateway",
        nats_nkey_file=keys.path("gateway"),
        nats_tls_ca_file=ca_file,
    )
    nc = await connect(settings.nats_servers, "tls-test", settings)
    try:
        assert nc.is_connected and nc.connected_url is not None and nc.connected_url.scheme == "tls"
        await nc.jetstream().account_info()  # an allowed request, answered over TLS
    finally:
        await nc.close()

    broker = NatsBroker(settings.nats_servers, **settings.broker_options())  # the services' faststream side
    await broker.connect()
    await broker.stop()


async def test_without_the_ca_the_servers_certificate_is_not_trusted(tls_server):
    import nats

    server, _, keys = tls_server
    login = NatsLogin(nats_user="gateway", nats_nkey_file=keys.path("gateway"))
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            f"tls://127.0.0.1:{server.port}", allow_reconnect=False, max_reconnect_attempts=0, **login.connect_options()
        )
