"""Which device may act and read for an account, and the recovery step that moves it to a new phone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate

from shared.events import Caller, DeviceView

from .accounts import Account, AccountBoundToOtherDevice, DeviceBinding
from .domain import Rules
from .unit import Unit


def check_reading_device(events: Any, account_id: UUID, device_id: str) -> None:
    """Refuse a read of the account's data from a device that is not its current one (read from the store).

    A booking exists only once its account acted from a device, so its owner has a binding: a device with
    none, bound to another account, or left behind by a move reads nothing.
    """
    binding: object = project_aggregate(None, events.get(DeviceBinding.id_for(device_id)))
    if not isinstance(binding, DeviceBinding):
        raise AccountBoundToOtherDevice()
    binding.check_reads_for(account_id)


def move_device(unit: Unit, caller: Caller, now: dt.datetime, rules: Rules) -> DeviceView:
    """Bind the caller's account to the caller's device, leaving the old one behind (revoked, still its)."""
    account_id = Account.id_for(caller.provider, caller.subject)
    account = unit.find(account_id) or Account(caller.provider, caller.subject)
    new = unit.find(DeviceBinding.id_for(caller.device_id)) or DeviceBinding(caller.device_id, account_id)
    new.check_account(account_id)  # one account per device: another account's phone cannot be taken over
    old_device = account.device_id
    if old_device == caller.device_id:
        return device_view(account, rules)  # already here: nothing moves, nothing is recorded
    if old_device is None:
        account.bind_device(caller.device_id)
    else:
        known = getattr(new, "revoked", False)  # back to a phone it had: never limited (a thief cannot lock
        if known:  # its owner out); a device new to the account: at most one per period
            new.reinstate(now)
        else:
            account.check_can_move_device(now, rules)
        old = unit.find(DeviceBinding.id_for(old_device))
        if isinstance(old, DeviceBinding):
            old.revoke(now)
            unit.add(old)
        account.move_device(old_device, caller.device_id, now, new_device=not known)
    unit.add(account, new)
    return device_view(account, rules)


def device_view(account: Account, rules: Rules) -> DeviceView:
    moved = getattr(account, "device_moved_at", None)
    return DeviceView(
        device_id=account.device_id or "",
        previous_device_id=getattr(account, "previous_device_id", None),
        moved_at=moved,
        next_move_at=moved + dt.timedelta(days=rules.device_move_days) if moved else None,
    )
