"""Sign-in: tokens verified against providers' public keys (JWKS from a file or a URL, cached)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from services.gateway.auth import DevIssuer, TokenVerifier, Unauthenticated, dev_trust, jwks_trust, provider_id
from services.gateway.jwks import JwksSource, KeysUnavailable
from services.gateway.main import GatewaySettings, trusted_issuers
from shared import clock
from shared.events import Caller

GOOGLE = "https://accounts.google.com"


class Provider:
    """An identity provider: an RSA key pair, its JWKS, and the tokens it signs."""

    def __init__(self, kid: str = "g1", issuer: str = GOOGLE) -> None:
        self.key, self.kid, self.issuer = rsa.generate_private_key(public_exponent=65537, key_size=2048), kid, issuer

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def token(self, subject: str = "1234567890", expires_in: float = 3600, **claims: object) -> str:
        now = clock.now()  # the gateway judges expiry by the same (pinned) clock
        body = {
            "iss": self.issuer,
            "aud": "antrian-paspor",
            "sub": subject,
            "exp": now + dt.timedelta(seconds=expires_in),
        }
        return jwt.encode(body | claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def verifier_for(provider: Provider, tmp_path: Path, **options: object) -> TokenVerifier:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(provider.jwks()))
    return TokenVerifier([jwks_trust(provider.issuer, JwksSource(str(path)), "google", **options)])


def test_a_token_signed_by_a_trusted_provider_identifies_a_citizen(tmp_path):
    google = Provider()
    who = verifier_for(google, tmp_path).verify(f"Bearer {google.token('siti-123', name='Siti')}")
    assert (who.provider, who.subject, who.name, who.role, who.account) == (
        "google",
        "siti-123",
        "Siti",
        "citizen",
        "google:siti-123",
    )


def test_a_provider_cannot_make_anyone_an_operator_unless_trusted_for_roles(tmp_path):
    google = Provider()
    token = f"Bearer {google.token(role='operator')}"
    assert verifier_for(google, tmp_path).verify(token).role == "citizen"
    assert verifier_for(google, tmp_path, grants_roles=True).verify(token).role == "operator"


@pytest.mark.parametrize(
    "case, header",
    [
        ("missing", None),
        ("not bearer", "Basic abc"),
        ("malformed", "Bearer not-a-jwt"),
    ],
)
def test_a_missing_or_malformed_token_is_refused(tmp_path, case, header):
    with pytest.raises(Unauthenticated):
        verifier_for(Provider(), tmp_path).verify(header)


def test_expired_forged_foreign_and_wrong_audience_tokens_are_refused(tmp_path):
    google, impostor = Provider(), Provider()  # the impostor claims Google's issuer with its own key
    verifier = verifier_for(google, tmp_path)
    for token, why in [
        (google.token(expires_in=-120), "expired"),
        (impostor.token(), "invalid"),
        (Provider(issuer="https://evil.example").token(), "untrusted issuer"),
        (google.token(aud="someone-else"), "invalid"),
    ]:
        with pytest.raises(Unauthenticated, match=why):
            verifier.verify(f"Bearer {token}")


def test_keys_are_fetched_once_and_kept_until_they_go_stale():
    google, reads, now = Provider(), [], [0.0]
    source = JwksSource(
        "https://keys.example/jwks", ttl=600, read=lambda url: reads.append(url) or google.jwks(), clock=lambda: now[0]
    )
    verifier = TokenVerifier([jwks_trust(GOOGLE, source)])
    for _ in range(3):
        verifier.verify(f"Bearer {google.token()}")
    assert len(reads) == 1
    now[0] = 601
    verifier.verify(f"Bearer {google.token('someone-else')}")  # a token not verified before
    assert len(reads) == 2


def test_a_token_is_verified_once_a_minute_but_its_expiry_counts_on_every_call():
    google, at = Provider(), [clock.now()]
    verifier = TokenVerifier(
        [jwks_trust(GOOGLE, JwksSource("https://keys.example/jwks", read=lambda url: google.jwks()))],
        clock=lambda: at[0],
    )
    token = f"Bearer {google.token(expires_in=100)}"
    verifier.verify(token)
    impostor = JwksSource("https://keys.example/jwks", read=lambda url: Provider().jwks())  # keys it does not match
    verifier.issuers[GOOGLE] = jwks_trust(GOOGLE, impostor)  # a new signature check would now fail
    at[0] += dt.timedelta(seconds=50)
    assert verifier.verify(token).subject == "1234567890", "remembered: its signature was not checked again"
    at[0] += dt.timedelta(seconds=15)
    with pytest.raises(Unauthenticated, match="invalid token"):
        verifier.verify(token)  # a minute on, its signature is checked again
    verifier.issuers[GOOGLE] = jwks_trust(
        GOOGLE, JwksSource("https://keys.example/jwks", read=lambda url: google.jwks())
    )
    verifier.verify(token)
    at[0] += dt.timedelta(seconds=70)  # 135 s after it was issued: expired (100 s and 30 of leeway), though remembered
    with pytest.raises(Unauthenticated, match="expired"):
        verifier.verify(token)


def test_the_gateway_remembers_only_the_last_minutes_tokens_not_every_citizen_who_ever_signed_in():
    google, at = Provider(), [clock.now()]
    verifier = TokenVerifier(
        [jwks_trust(GOOGLE, JwksSource("https://keys.example/jwks", read=lambda url: google.jwks()))],
        clock=lambda: at[0],
    )
    tokens = [google.token(subject=f"citizen-{serial}") for serial in range(30)]
    for token in tokens:  # a citizen a second, each with a token of their own
        verifier.verify(f"Bearer {token}")
        at[0] += dt.timedelta(seconds=1)
    assert len(verifier.verified) == 30
    at[0] += dt.timedelta(seconds=45)
    verifier.verify(f"Bearer {google.token(subject='latecomer')}")
    assert len(verifier.verified) == 15, "those verified over a minute ago are forgotten (checked again if they come)"
    assert tokens[15] not in verifier.verified and tokens[16] in verifier.verified, "a minute old: forgotten"


def test_a_rotated_key_is_fetched_when_a_token_names_it_but_unknown_ids_do_not_hammer_the_provider():
    old, new, now, reads = Provider("k-old"), Provider("k-new"), [0.0], []
    published = [old]
    source = JwksSource(
        "https://keys.example/jwks", read=lambda url: reads.append(url) or published[0].jwks(), clock=lambda: now[0]
    )
    verifier = TokenVerifier([jwks_trust(GOOGLE, source)])
    verifier.verify(f"Bearer {old.token()}")
    published[0] = new
    with pytest.raises(Unauthenticated):  # too soon after the last fetch: refused without fetching
        verifier.verify(f"Bearer {new.token()}")
    assert len(reads) == 1
    now[0] = 31
    assert verifier.verify(f"Bearer {new.token('rotated')}").subject == "rotated"
    assert len(reads) == 2


def test_sign_in_keeps_working_while_the_provider_is_down_on_the_last_good_keys():
    google, now, reads, down = Provider(), [0.0], [], [False]

    def read(url: str) -> dict:
        reads.append(now[0])
        if down[0]:
            raise KeysUnavailable(f"cannot read keys from {url}: connection refused")
        return google.jwks()

    verifier = TokenVerifier(
        [jwks_trust(GOOGLE, JwksSource(GOOGLE + "/jwks", ttl=600, read=read, clock=lambda: now[0]))]
    )
    verifier.verify(f"Bearer {google.token('before')}")
    down[0], now[0] = True, 601.0  # the keys went stale just as the provider went down

    for second, citizen in enumerate(["siti", "budi", "wayan", "made"]):
        now[0] = 601.0 + second * 0.3
        assert verifier.verify(f"Bearer {google.token(citizen)}").subject == citizen, "signed in on the old keys"
    assert reads == [0.0, 601.0], "one failed refresh, then a pause: not one fetch per sign-in"

    for at in (602.0, 604.0, 608.0):  # each failure waits twice as long as the one before
        now[0] = at
        verifier.verify(f"Bearer {google.token(f'at-{at}')}")
    assert reads == [0.0, 601.0, 602.0, 604.0, 608.0]

    down[0], now[0] = False, 616.0
    verifier.verify(f"Bearer {google.token('after')}")
    assert reads[-1] == 616.0 and verifier.issuers[GOOGLE].keys("g1") is not None, "fresh keys once it is back"


def test_without_any_good_keys_an_outage_refuses_sign_in_and_says_why():
    def down(url: str) -> dict:
        raise KeysUnavailable(f"cannot read keys from {url}: connection refused")

    verifier = TokenVerifier([jwks_trust(GOOGLE, JwksSource(GOOGLE + "/jwks", read=down))])
    with pytest.raises(Unauthenticated, match="connection refused"):
        verifier.verify(f"Bearer {Provider().token()}")


def test_keys_are_read_from_a_url(tmp_path):
    google = Provider()
    body = json.dumps(google.jwks()).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
        verifier = TokenVerifier([jwks_trust(GOOGLE, JwksSource(url))])
        assert verifier.verify(f"Bearer {google.token('from-url')}").subject == "from-url"
    finally:
        server.shutdown()


def test_unreadable_keys_refuse_the_token_and_say_why(tmp_path):
    google = Provider()
    verifier = TokenVerifier([jwks_trust(GOOGLE, JwksSource(str(tmp_path / "missing.json")))])
    with pytest.raises(Unauthenticated, match="cannot check"):
        verifier.verify(f"Bearer {google.token()}")
    with pytest.raises(KeysUnavailable):
        JwksSource("http://127.0.0.1:9/jwks").key("x")


def test_the_development_issuer_is_off_unless_enabled_and_refused_in_the_distributed_mode(tmp_path):
    issuers, dev = trusted_issuers(GatewaySettings(data_dir=tmp_path))
    assert dev is None and issuers == []
    issuers, dev = trusted_issuers(GatewaySettings(data_dir=tmp_path, gateway_dev_issuer=True))
    assert dev is not None and [i.name for i in issuers] == ["paspor-dev"]
    with pytest.raises(ValidationError, match="development token issuer"):
        GatewaySettings(data_dir=tmp_path, gateway_dev_issuer=True, gateway_distributed=True)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "gateway.example.org"])
def test_the_development_issuer_refuses_to_start_where_others_can_reach_it(tmp_path, host):
    with pytest.raises(ValidationError, match="loopback"):
        GatewaySettings(data_dir=tmp_path, gateway_dev_issuer=True, gateway_host=host)
    GatewaySettings(data_dir=tmp_path, gateway_host=host)  # without it, any address is fine


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_the_development_issuer_runs_on_a_loopback_address(tmp_path, host):
    assert GatewaySettings(data_dir=tmp_path, gateway_dev_issuer=True, gateway_host=host).gateway_dev_issuer


def test_providers_are_configured_from_the_environment(tmp_path, monkeypatch):
    google = Provider()
    (tmp_path / "jwks.json").write_text(json.dumps(google.jwks()))
    monkeypatch.setenv(
        "PASPOR_GATEWAY_ISSUERS",
        json.dumps([{"issuer": GOOGLE, "jwks": str(tmp_path / "jwks.json"), "provider": "google"}]),
    )
    issuers, _ = trusted_issuers(GatewaySettings(data_dir=tmp_path))
    assert TokenVerifier(issuers).verify(f"Bearer {google.token('env')}").account == "google:env"


def test_an_officer_token_must_name_an_office(tmp_path):
    dev = DevIssuer(tmp_path)
    verifier = TokenVerifier([dev_trust(dev)])
    assert verifier.verify(f"Bearer {dev.issue('petugas', role='officer', office='GRESIK')}").office == "GRESIK"
    with pytest.raises(Unauthenticated, match="office"):
        verifier.verify(f"Bearer {dev.issue('petugas', role='officer')}")


@pytest.mark.dateless  # starts a process to see it refuse: slow, and no date in it
def test_the_gateway_refuses_to_start_distributed_with_the_development_issuer_on(tmp_path):
    import os
    import subprocess
    import sys

    env = os.environ | {
        "PASPOR_GATEWAY_DISTRIBUTED": "true",
        "PASPOR_GATEWAY_DEV_ISSUER": "true",
        "PASPOR_DATA_DIR": str(tmp_path),
        "PASPOR_NATS_URL": "nats://127.0.0.1:1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "paspor", "service", "gateway"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "development token issuer must not be enabled" in result.stdout


@pytest.mark.parametrize("issuer", [[GOOGLE], 42])
def test_a_token_whose_issuer_is_not_a_string_is_from_an_untrusted_issuer(tmp_path, issuer):
    google = Provider()
    body = {"iss": issuer, "aud": "antrian-paspor", "sub": "1234567890", "exp": 4102444800}
    # signed as raw bytes: PyJWT's encode refuses such a claim, a forger's tool need not
    token = jwt.api_jws.encode(json.dumps(body).encode(), google.key, algorithm="RS256", headers={"kid": google.kid})
    with pytest.raises(Unauthenticated, match="untrusted issuer"):
        verifier_for(google, tmp_path).verify(f"Bearer {token}")


def test_a_provider_with_a_long_issuer_url_gets_a_short_stable_id(tmp_path):
    """Microsoft's issuers carry a tenant id: 75 characters, while an account's provider has 40."""
    issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
    microsoft = Provider(issuer=issuer)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(microsoft.jwks()))
    verifier = TokenVerifier([jwks_trust(issuer, JwksSource(str(path)))])

    who = verifier.verify(f"Bearer {microsoft.token('ms-user')}")

    assert len(who.provider) <= 40 and who.provider.startswith("login.microsoftonline.com-")
    assert Caller(provider=who.provider, subject=who.subject, device_id="device-ms-0001"), "a valid caller"
    assert who.provider == provider_id(issuer), "the same id every time: the same accounts"
    assert provider_id(GOOGLE) == GOOGLE, "a short issuer stays itself (existing accounts keep their ids)"
