"""A sign-up rush: acceptances of the terms that arrive together are saved together, each refusal its own."""

from __future__ import annotations

from booking_story import World

from services.booking.accounts import DeviceBoundToOtherAccount, UnknownTermsVersion
from shared.events import AcceptTerms, TermsView


def test_acceptances_arriving_together_are_saved_in_one_save_and_a_refusal_stays_alone():
    world = World()
    saves: list[int] = []
    save = world.app.save
    world.app.save = lambda *aggregates, **kw: saves.append(len(aggregates)) or save(*aggregates, **kw)  # type: ignore[method-assign]
    citizens = [world.caller(f"citizen-{i}") for i in range(50)]
    current = world.rules.terms_version
    commands = [AcceptTerms(caller=c, version=current) for c in citizens]
    commands.insert(10, AcceptTerms(caller=world.caller("late-reader"), version="1999.1"))  # an old version
    commands.insert(20, AcceptTerms(caller=world.caller("borrower", device=citizens[0].device_id), version=current))

    results = world.app.accounts.accept_terms_all(commands, world.now)

    assert len(saves) == 1, "one save for the whole group"
    assert isinstance(results[10], UnknownTermsVersion)
    assert isinstance(results[20], DeviceBoundToOtherAccount), "citizen-0's phone is theirs"
    accepted = [r for r in results if isinstance(r, TermsView)]
    assert len(accepted) == 50 and all(r.accepted for r in accepted)
    assert all(world.app.accounts.terms(c).accepted for c in citizens)
    assert not world.app.accounts.terms(world.caller("late-reader")).accepted
