"""Who may say what on NATS: each user's publish and subscribe permissions, derived from the wire contract.

Every nats-server configuration (the embedded one, the local cluster's, compose's `deploy/nats`) is
rendered from these grants, so the permissions follow the subjects of `shared/events` and cannot
drift from them. The rules the grants enforce:

- only the booking service publishes booking events (`BookingRequested` among them), only quota
  publishes quota decisions, only the notifier publishes ticket events;
- the gateway sends commands and queries (request/reply) but publishes no event and never asks
  quota to decide a booking (that reserves places: it is the booking service's question);
- operators change capacity and close sessions, the auditor only reads the event streams;
- each user receives replies on its own inbox (`_INBOX.<user>.>`) only, so no one reads the
  answers meant for another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.events import (
    ADMISSION_BUCKET,
    AVAILABILITY_BUCKET,
    IDEMPOTENCY_BUCKET,
    STREAMS,
    Commands,
    partition_subject,
)
from shared.events.subjects import DEAD_LETTER_SUBJECT, VERBS

from .bus import BUCKETS, RELAY_BUCKET
from .lease import LEASE_BUCKET

SERVICES = ("gateway", "booking", "quota", "notifier")
# `paspor quota ...`, `paspor audit --jetstream`, and the break-glass key for maintenance (`paspor
# deadletter`, which re-publishes on any service's subject; pausing a consumer; `nats stream ...`):
# the one user allowed everything, used by no service.
TOOLS = ("operator", "auditor", "admin")
USERS = SERVICES + TOOLS

API = "$JS.API"
# The one service that publishes each context's events (and serves its commands).
OWNERS = {"booking": "booking", "quota": "quota", "ticket": "notifier"}
# The fast path reserves places: only the booking service may ask quota to decide a request.
ONLY_BOOKING_ASKS = (Commands.DECIDE_BOOKING, Commands.ACCEPT_HOLD)
# What only the operators' tools ask (`paspor rebuild`); the gateway sends every other command.
ONLY_OPERATORS_ASK = (Commands.REBUILD_AVAILABILITY, Commands.REBUILD_OUTCOMES)
OPERATOR_COMMANDS = (Commands.CHANGE_CAPACITY, Commands.CLOSE_SESSIONS, *ONLY_OPERATORS_ASK)
AUDIT_CONSUMER = "paspor-audit"  # the one consumer the auditor reads the event streams with


@dataclass(frozen=True)
class Grant:
    """What one NATS user may publish and subscribe to, and whether it answers requests it receives."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    answers: bool = False  # allow_responses: reply to the requests it received, and to nothing else


def inbox(user: str) -> str:
    """The prefix of a user's reply subjects (nats-py's `inbox_prefix`)."""
    return f"_INBOX.{user}"


def any_partition(template: str) -> str:
    """A partitioned command subject with '*' for the partition."""
    return template.replace("p{partition:02d}", "*")


def commands() -> tuple[str, ...]:
    """Every command subject, the partitioned ones with '*' for the partition."""
    return tuple(any_partition(v) for k, v in vars(Commands).items() if k.isupper() and v.startswith("paspor.cmd."))


def served_by(service: str) -> tuple[str, ...]:
    """The command subjects a service answers."""
    return tuple(s for s in commands() if OWNERS[s.split(".")[2]] == service)


def events_of(service: str) -> tuple[str, ...]:
    """The event subjects only this service may publish (every partition)."""
    return tuple(partition_subject(c, "*", verb) for c, verb in VERBS.values() if OWNERS[c] == service)


def consumers(partitions: int) -> dict[str, tuple[tuple[str, str], ...]]:
    """Each service's durable consumers: (stream, durable) (tests check them against the services' specs)."""
    return {
        "booking": (("PASPOR_QUOTA", "booking-outcomes"), ("PASPOR_TICKET", "booking-attendance")),
        "quota": tuple(("PASPOR_BOOKING", f"quota-p{p:02d}") for p in range(partitions)),
        "notifier": (("PASPOR_BOOKING", "notifier"),),
    }


def declare_streams() -> list[str]:
    """Create, look at and update every stream and bucket (each service declares them at start)."""
    names = [spec.name for spec in STREAMS] + [f"KV_{bucket}" for bucket in BUCKETS]
    return [f"{API}.STREAM.{verb}.{name}" for name in names for verb in ("INFO", "CREATE", "UPDATE")]


def consume(stream: str, durable: str) -> list[str]:
    """Create, read and acknowledge one durable pull consumer."""
    prefix = f"{API}.CONSUMER"
    return [
        f"{prefix}.CREATE.{stream}.{durable}",
        f"{prefix}.CREATE.{stream}.{durable}.>",
        f"{prefix}.DURABLE.CREATE.{stream}.{durable}",
        f"{prefix}.INFO.{stream}.{durable}",
        f"{prefix}.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def relay_position(service: str) -> list[str]:
    """Read and write the service's own outbox-relay positions (keys `<service>` and `<service>.*`)."""
    stream = f"KV_{RELAY_BUCKET}"
    keys = [f"$KV.{RELAY_BUCKET}.{service}", f"$KV.{RELAY_BUCKET}.{service}.>"]
    return keys + [f"{API}.DIRECT.GET.{stream}.{key}" for key in keys] + [f"{API}.STREAM.MSG.GET.{stream}"]


def hold_leases(bucket: str = LEASE_BUCKET) -> list[str]:
    """Create the lease bucket (its TTL kept current), and take, renew, read and give up its keys."""
    stream = f"KV_{bucket}"
    keys = f"$KV.{bucket}.>"
    api = [f"{API}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")]
    return [*api, keys, f"{API}.DIRECT.GET.{stream}.{keys}", f"{API}.STREAM.MSG.GET.{stream}"]


def watch_bucket(bucket: str) -> list[str]:
    """Follow a key-value bucket (an ordered consumer with flow control)."""
    stream = f"KV_{bucket}"
    return [
        f"{API}.STREAM.INFO.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}",
        f"{API}.CONSUMER.CREATE.{stream}.>",
        f"{API}.CONSUMER.INFO.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def count_in(bucket: str) -> list[str]:
    """Read and compare-and-set a bucket's counters (the gateways' shared admission: get, create, update),
    and make the bucket again when a restart of NATS lost it (it lives in memory)."""
    stream = f"KV_{bucket}"
    return [f"{API}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE", "MSG.GET")] + [f"$KV.{bucket}.>"]


def read_streams(names: Iterable[str]) -> list[str]:
    """Read whole streams through the audit's own consumer (made, read and deleted by each audit)."""
    rules: list[str] = []
    for name in names:
        rules += [f"{API}.STREAM.INFO.{name}", f"{API}.CONSUMER.DELETE.{name}.{AUDIT_CONSUMER}"]
        rules += consume(name, AUDIT_CONSUMER)
    return rules


def read_messages(stream: str) -> list[str]:
    """Read a stream's messages one by one, by sequence (the audit's look at the dead letters)."""
    return [f"{API}.STREAM.INFO.{stream}", f"{API}.STREAM.MSG.GET.{stream}"]


def _backend(service: str, partitions: int, extra: list[str]) -> Grant:
    """A service with a store: it declares the streams, publishes its events through its relay, consumes,
    and parks what its relay or consumers cannot handle on its own dead-letter subject."""
    publish = [f"{API}.INFO", *declare_streams(), *events_of(service), *relay_position(service), *extra]
    for stream, durable in consumers(partitions).get(service, ()):
        publish += consume(stream, durable)
    publish.append(DEAD_LETTER_SUBJECT.format(service=service))
    return Grant(tuple(publish), (*served_by(service), f"{inbox(service)}.>"), answers=True)


def grants(partitions: int) -> dict[str, Grant]:
    """Every user's grant, for a system of `partitions` office partitions."""
    not_the_gateways = {any_partition(s) for s in (*ONLY_BOOKING_ASKS, *ONLY_OPERATORS_ASK)}
    gateway_sends = tuple(s for s in commands() if s not in not_the_gateways)
    event_streams = [spec.name for spec in STREAMS if not spec.name.endswith("DEADLETTER")]
    dead_letters = next(spec.name for spec in STREAMS if spec.name.endswith("DEADLETTER"))
    # the gateways share the idempotency keys of booking requests through a bucket: each watches and puts
    shared_keys = (*watch_bucket(IDEMPOTENCY_BUCKET), f"$KV.{IDEMPOTENCY_BUCKET}.>")
    return {
        "gateway": Grant(
            (
                f"{API}.INFO",
                *gateway_sends,
                *watch_bucket(AVAILABILITY_BUCKET),
                *shared_keys,
                *count_in(ADMISSION_BUCKET),
            ),
            ("paspor.booking.>", "paspor.ticket.>", f"{inbox('gateway')}.>"),  # outcomes, as they happen
        ),
        "booking": _backend("booking", partitions, list(map(any_partition, ONLY_BOOKING_ASKS))),
        "quota": _backend(
            "quota",
            partitions,
            [f"{API}.STREAM.INFO.KV_{AVAILABILITY_BUCKET}", f"$KV.{AVAILABILITY_BUCKET}.>", *hold_leases()],
        ),
        "notifier": _backend("notifier", partitions, []),
        "operator": Grant((f"{API}.INFO", *map(any_partition, OPERATOR_COMMANDS)), (f"{inbox('operator')}.>",)),
        "auditor": Grant(
            (f"{API}.INFO", *read_streams(event_streams), *read_messages(dead_letters)), (f"{inbox('auditor')}.>",)
        ),
        "admin": Grant((">",), (">",)),
    }


def _list(subjects: Iterable[str], indent: str = "        ") -> str:
    return "[\n" + "".join(f'{indent}"{s}"\n' for s in subjects) + indent[:-2] + "]"


def authorization(keys: Mapping[str, str], partitions: int) -> str:
    """The nats-server `authorization` block: one nkey user per entry of `keys` (user -> public key,
    or `$VARIABLE` for a key nats-server reads from its environment), each with its grant."""
    unknown = set(keys) - set(USERS)
    if unknown:
        raise ValueError(f"no grant for NATS user(s) {sorted(unknown)}")
    lines = ["authorization {", "  users: ["]
    for user, grant in grants(partitions).items():
        if user not in keys:
            continue
        lines.append(f"    # {user}")
        lines.append(f"    {{nkey: {keys[user]}, permissions: {{")
        lines.append(f"      publish: {{allow: {_list(grant.publish)}}}")
        lines.append(f"      subscribe: {{allow: {_list(grant.subscribe)}}}")
        if grant.answers:
            lines.append("      allow_responses: true")
        lines.append("    }}")
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"
