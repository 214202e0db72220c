"""What the booking application's mixins (account actions, outcomes) use of the application they are mixed into.

Only the type checker reads it: at run time the mixins derive from `object`, and `BookingApplication`
implements every method named here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from shared.events import Caller

from .accounts import Account, DeviceBinding
from .domain import Rules
from .errors import BookingError
from .unit import Unit

T = TypeVar("T")


class BookingHost(Application[UUID]):
    rules: Rules

    @abstractmethod
    def caller(self, unit: Unit, caller: Caller) -> tuple[Account, DeviceBinding]: ...

    @staticmethod
    @abstractmethod
    def bind(unit: Unit, account: Account, binding: DeviceBinding, device_id: str) -> None: ...

    @abstractmethod
    def decide(self, action: Callable[[Unit], T]) -> T: ...

    @abstractmethod
    def decide_all(self, actions: Sequence[Callable[[Unit], T]]) -> list[T | BookingError]: ...

    @abstractmethod
    def _save(self, *aggregates: Aggregate) -> None: ...

    @abstractmethod
    def _undone_on_failure(self, unit: Unit) -> AbstractContextManager[None]: ...
