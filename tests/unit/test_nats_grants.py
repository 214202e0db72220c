"""Who may say what on NATS, as data: every event has one publisher, every command one server, and the
grants name the consumers the services really declare. Keys and logins are checked before any connection."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError

from services.booking.messaging import ATTENDANCE, OUTCOMES
from services.notifier.messaging import BOOKINGS
from services.quota.messaging import consumer_spec
from shared.events import STREAMS, Commands, partition_subject
from shared.events.subjects import VERBS
from shared.runtime.natsauth import KeyFolder, NatsLogin, new_seed, public_key
from shared.runtime.permissions import SERVICES, USERS, authorization, commands, consumers, grants
from shared.runtime.settings import CommonSettings

PARTITIONS = 8
GRANTS = grants(PARTITIONS)


def matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: '*' is one token, '>' the rest."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or token not in ("*", tokens[i]):
            return False
    return len(tokens) == len(wanted)


def may_publish(user: str, subject: str) -> bool:
    return any(matches(rule, subject) for rule in GRANTS[user].publish)


def may_subscribe(user: str, subject: str) -> bool:
    return any(matches(rule, subject) for rule in GRANTS[user].subscribe)


EVENTS = [(context, verb) for context, verb in VERBS.values()]
OWNER = {"booking": "booking", "quota": "quota", "ticket": "notifier"}


@pytest.mark.parametrize(("context", "verb"), EVENTS)
def test_each_event_has_exactly_one_publisher_besides_the_break_glass_admin(context: str, verb: str):
    subject = partition_subject(context, 5, verb)
    publishers = [user for user in USERS if user != "admin" and may_publish(user, subject)]
    assert publishers == [OWNER[context]], f"{subject}: {publishers}"


def test_only_the_booking_service_publishes_booking_requests_and_only_quota_its_decisions():
    assert [u for u in SERVICES if may_publish(u, "paspor.booking.p03.requested")] == ["booking"]
    assert [u for u in SERVICES if may_publish(u, "paspor.quota.p03.decided")] == ["quota"]


def test_the_gateway_asks_but_never_publishes_an_event_nor_asks_quota_to_decide():
    assert not any(may_publish("gateway", partition_subject(c, 0, v)) for c, v in EVENTS)
    assert not may_publish("gateway", Commands.DECIDE_BOOKING.format(partition=0))
    assert may_publish("booking", Commands.DECIDE_BOOKING.format(partition=0))
    for subject in (Commands.REQUEST_BOOKING, Commands.GET_BOOKING, Commands.GET_CALENDAR, Commands.CHECK_IN):
        assert may_publish("gateway", subject), subject
    assert not any(may_publish("gateway", f"$JS.API.STREAM.{verb}.PASPOR_BOOKING") for verb in ("CREATE", "PURGE"))


def test_every_command_is_served_by_exactly_one_service():
    for subject in commands():
        concrete = subject.replace("*", "p02")
        servers = [user for user in SERVICES if may_subscribe(user, concrete)]
        assert len(servers) == 1, f"{concrete}: {servers}"


def test_operators_change_quota_and_the_auditor_only_reads():
    assert may_publish("operator", Commands.CHANGE_CAPACITY.format(partition=7))
    assert may_publish("operator", Commands.CLOSE_SESSIONS.format(partition=7))
    assert not may_publish("operator", Commands.GET_BOOKING)
    assert not any(may_publish("auditor", partition_subject(c, 0, v)) for c, v in EVENTS)
    assert may_publish("auditor", "$JS.API.CONSUMER.MSG.NEXT.PASPOR_BOOKING.paspor-audit")
    assert not may_publish("auditor", "$JS.API.CONSUMER.MSG.NEXT.PASPOR_BOOKING.notifier"), "a service's"
    assert not may_publish("auditor", "$JS.ACK.PASPOR_BOOKING.notifier.1.2.3.4.5")
    assert not may_publish("auditor", "$JS.API.STREAM.PURGE.PASPOR_BOOKING")


def test_each_user_reads_replies_on_its_own_inbox_only():
    for user in USERS:
        if user == "admin":
            continue
        others = [other for other in USERS if other not in (user, "admin")]
        assert may_subscribe(user, f"_INBOX.{user}.abc.1")
        assert not any(may_subscribe(user, f"_INBOX.{other}.abc.1") for other in others), user


def test_the_grants_name_the_consumers_the_services_declare():
    declared = {
        "booking": {(OUTCOMES.stream, OUTCOMES.durable), (ATTENDANCE.stream, ATTENDANCE.durable)},
        "notifier": {(BOOKINGS.stream, BOOKINGS.durable)},
        "quota": {(s.stream, s.durable) for s in (consumer_spec(p, 100) for p in range(PARTITIONS))},
    }
    assert {service: set(pairs) for service, pairs in consumers(PARTITIONS).items()} == declared
    for service, pairs in declared.items():
        for stream, durable in pairs:
            assert may_publish(service, f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}")
            assert may_publish(service, f"$JS.ACK.{stream}.{durable}.1.2.3.4.5")
            assert not any(may_publish(other, f"$JS.ACK.{stream}.{durable}.1.2.3.4.5") for other in ("gateway",))


def test_every_service_with_a_store_may_declare_every_stream():
    for service in ("booking", "quota", "notifier"):
        for spec in STREAMS:
            assert may_publish(service, f"$JS.API.STREAM.CREATE.{spec.name}"), (service, spec.name)


def test_the_server_configuration_holds_each_users_key_and_nothing_for_an_unknown_user():
    keys = {user: public_key(new_seed()) for user in USERS}
    text = authorization(keys, PARTITIONS)
    assert all(f"nkey: {key}," in text for key in keys.values())
    assert text.count("allow_responses: true") == 3, "the three services that answer requests"
    assert "nkey: $NATS_PUB_GATEWAY," in authorization({"gateway": "$NATS_PUB_GATEWAY"}, PARTITIONS)
    with pytest.raises(ValueError, match="intruder"):
        authorization({"intruder": keys["gateway"]}, PARTITIONS)


def test_a_key_is_made_once_readable_by_its_owner_only_and_kept(tmp_path):
    folder = KeyFolder(tmp_path / "nats-keys")
    first = folder.seed("booking")
    assert stat.S_IMODE(folder.path("booking").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.folder.stat().st_mode) == 0o700
    assert folder.seed("booking") == first, "the same key at the next start"
    assert folder.environment("booking") == {
        "PASPOR_NATS_USER": "booking",
        "PASPOR_NATS_NKEY_FILE": str(folder.path("booking")),
    }


def test_a_login_with_a_damaged_seed_is_refused_without_showing_the_seed(tmp_path):
    seed = new_seed()
    damaged = seed[:-3] + ("AAA" if not seed.endswith("AAA") else "BBB")
    with pytest.raises(ValidationError) as refused:
        CommonSettings(nats_user="booking", nats_nkey_seed=damaged)
    assert "damaged" in str(refused.value) and damaged not in str(refused.value)
    with pytest.raises(ValidationError, match="starts with SU"):
        CommonSettings(nats_user="booking", nats_nkey_seed="SAnot-a-user-seed")


def test_a_login_names_its_user_and_one_source_of_its_key(tmp_path):
    (tmp_path / "k.nk").write_text(new_seed())
    with pytest.raises(ValidationError, match="PASPOR_NATS_USER is required"):
        CommonSettings(nats_nkey_file=tmp_path / "k.nk")
    with pytest.raises(ValidationError, match="not both"):
        CommonSettings(nats_user="quota", nats_nkey_file=tmp_path / "k.nk", nats_nkey_seed=new_seed())
    with pytest.raises(ValidationError, match="cannot read"):
        CommonSettings(nats_user="quota", nats_nkey_file=tmp_path / "missing.nk")
    with pytest.raises(ValidationError, match="go together"):
        CommonSettings(nats_tls_cert_file=tmp_path / "k.nk")


def test_a_login_gives_nats_py_and_faststream_the_seed_and_the_users_inbox(tmp_path):
    seed = new_seed()
    login = NatsLogin(nats_user="gateway", nats_nkey_seed=seed)
    assert login.connect_options() == {"inbox_prefix": "_INBOX.gateway", "nkeys_seed_str": seed}
    broker = login.broker_options()
    assert broker["inbox_prefix"] == "_INBOX.gateway" and broker["security"].seed == seed
    assert NatsLogin().connect_options() == {} and NatsLogin().broker_options() == {}, "no login: as before"


def test_only_quota_holds_partition_leases_it_takes_renews_reads_and_gives_them_up():
    key = "$KV.paspor_leases.quota-p03of8"
    assert may_publish("quota", key)  # create, update (compare-and-set) and delete are publishes on the key
    assert may_publish("quota", f"$JS.API.DIRECT.GET.KV_paspor_leases.{key}")
    assert may_publish("quota", "$JS.API.STREAM.MSG.GET.KV_paspor_leases")
    for verb in ("INFO", "CREATE", "UPDATE"):  # the bucket made with its TTL, the TTL kept current
        assert may_publish("quota", f"$JS.API.STREAM.{verb}.KV_paspor_leases")
    assert not may_publish("quota", "$JS.API.STREAM.DELETE.KV_paspor_leases")
    others = [u for u in USERS if u not in ("quota", "admin") and may_publish(u, key)]
    assert others == [], "only quota workers may take a partition's lease"


def test_only_the_gateways_count_booking_attempts_in_the_shared_admission_bucket():
    counter = "$KV.paspor_admission.account.0123abcd.29482913"
    assert [u for u in USERS if u != "admin" and may_publish(u, counter)] == ["gateway"]
    for reading in ("$JS.API.STREAM.INFO.KV_paspor_admission", "$JS.API.STREAM.MSG.GET.KV_paspor_admission"):
        assert may_publish("gateway", reading), reading
    assert not may_publish("gateway", "$JS.API.STREAM.PURGE.KV_paspor_admission")
    assert not may_publish("gateway", "$JS.API.STREAM.DELETE.KV_paspor_admission")
    makers = ("booking", "quota", "notifier", "gateway")  # the gateway makes it again after NATS lost it (memory)
    assert all(may_publish(s, "$JS.API.STREAM.CREATE.KV_paspor_admission") for s in makers)
    assert not may_publish("gateway", "$JS.API.STREAM.CREATE.KV_paspor_idempotency")
