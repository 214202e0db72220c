"""Device proofs (DPoP): the gateway's verifier (public keys cached by thumbprint) against PyJWT parsing each proof's jwk."""

from __future__ import annotations

import time
from typing import Annotated

import jwt
import typer

from benchmarks.report import Figures, console, side_by_side
from services.gateway.dpop import ProofChecker, token_hash
from shared import clock
from shared.device_keys import DeviceKey

URL = "http://127.0.0.1:8080/v1/bookings/5b0b5c2e-0d6c-4c47-9d0e-3a4d0b6a7e11"
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJzaXRpQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJlLW9mLWEtdG9rZW4"


def proofs_of(devices: list[DeviceKey], rounds: int) -> tuple[list[str], float]:
    """`rounds` proofs per device (each request signs anew, as a phone does), and the client's signing rate."""
    started, now = time.process_time(), clock.now()
    proofs = [key.proof("GET", URL, TOKEN, now) for _ in range(rounds) for key in devices]
    return proofs, len(proofs) / max(time.process_time() - started, 1e-9)


def ours(proofs: list[str], devices: int, figures: Figures) -> None:
    """The gateway's ProofChecker: a new verifier per run, so each device's first proof parses its key."""
    checker = ProofChecker()
    timed(lambda proof: checker.verify(proof, "GET", URL, TOKEN), proofs, figures)


def conventional(proofs: list[str], figures: Figures) -> None:
    """PyJWT: the jwk from the proof's header made a key for every proof, then the signature and claims checked."""
    ath = token_hash(TOKEN)

    def verify(proof: str) -> None:
        header = jwt.get_unverified_header(proof)
        claims = jwt.decode(proof, jwt.PyJWK(header["jwk"]).key, algorithms=["ES256"], options={"verify_aud": False})
        assert claims["htm"] == "GET" and claims["htu"] == URL and claims["ath"] == ath

    timed(verify, proofs, figures)


def timed(verify, proofs: list[str], figures: Figures) -> None:  # noqa: ANN001
    """Proofs per CPU-second (the process's own CPU time: on a shared machine, wall time is others' too)."""
    started = time.process_time()
    for start in range(0, len(proofs), 100):
        batch_started = time.process_time()
        for proof in proofs[start : start + 100]:
            verify(proof)
        figures.latencies_ms.append((time.process_time() - batch_started) * 1000 / 100)
    figures.rates.append(len(proofs) / max(time.process_time() - started, 1e-9))


def command(
    devices: Annotated[int, typer.Option(min=10, help="Distinct devices (keys).")] = 500,
    rounds: Annotated[int, typer.Option(min=1, help="Requests per device (a fresh proof each).")] = 8,
    runs: Annotated[int, typer.Option(min=1, max=10, help="Runs of each contender (median reported).")] = 3,
) -> None:
    keys = [DeviceKey.named(f"bench-device-{i:06d}") for i in range(devices)]
    mine, theirs = Figures("ProofChecker, keys cached (ours)"), Figures("PyJWT + PyJWK per proof")
    signing = []
    for _ in range(runs):
        proofs, signed_per_second = proofs_of(keys, rounds)
        signing.append(signed_per_second)
        ours(proofs, devices, mine)
        conventional(proofs, theirs)
    side_by_side(
        f"Device proofs verified per CPU-second ({devices} devices x {rounds} requests, ES256; CPU ms per proof)",
        "proofs/CPU-s",
        mine,
        theirs,
    )
    console.print(
        f"CPU per proof, ours: {1e6 / mine.rate:,.0f} µs; PyJWT: {1e6 / theirs.rate:,.0f} µs (one core)\n"
        f"client CPU: {sorted(signing)[len(signing) // 2]:,.0f} proofs signed per CPU-second (ES256, cryptography)"
    )
