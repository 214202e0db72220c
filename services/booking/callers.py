"""Who is asking: the caller's account and device binding, found or made in a unit of work."""

from __future__ import annotations

from shared.events import Caller

from .accounts import Account, DeviceBinding
from .unit import Unit


def caller_in(unit: Unit, caller: Caller) -> tuple[Account, DeviceBinding]:
    """The caller's account and device binding (new ones if none yet), checked against each other."""
    account_id = Account.id_for(caller.provider, caller.subject)
    account = unit.find(account_id) or Account(caller.provider, caller.subject)
    binding = unit.find(DeviceBinding.id_for(caller.device_id)) or DeviceBinding(caller.device_id, account_id)
    binding.check_account(account_id)
    account.check_device(caller.device_id)
    return account, binding


def bind(unit: Unit, account: Account, binding: DeviceBinding, device_id: str) -> None:
    """Bind the device and the account to each other (once), with the change being saved."""
    if account.device_id is None:
        account.bind_device(device_id)
    unit.add(account, binding)
