"""The wire contract: every message that crosses a service boundary, and where it travels."""

from .booking import (
    BookingCancelled,
    BookingCheckedIn,
    BookingConfirmed,
    BookingNoShow,
    BookingRejected,
    BookingReply,
    BookingRequested,
    BookingStatus,
    BookingView,
    CancelBooking,
    Caller,
    GetBooking,
    HistoryEntry,
    Problem,
    RequestBooking,
    AcceptTerms,
    GetProfile,
    GetRegistrations,
    GetTerms,
    ListBookings,
    ProfileView,
    RegistrationsView,
    TermsView,
    UpdateProfile,
)
from .common import Applicant, PassportType, ServiceType, Session, Slot
from .envelope import Message, derived_id, utcnow
from .quota import (
    Calendar,
    GetCalendar,
    RejectionReason,
    SessionAvailability,
    SlotRejected,
    SlotReleased,
    SlotReserved,
    SlotWithdrawn,
    SlotsDecided,
    Decision,
    ChangeCapacity,
    CloseSessions,
)
from .subjects import (
    DEFAULT_PARTITIONS,
    EVENT_TYPES,
    STREAMS,
    Commands,
    StreamSpec,
    partition_of,
    partition_subject,
    stream_for,
    subject_for,
)
from .availability import AVAILABILITY_BUCKET, SessionRemaining, availability_key
from .tickets import CheckIn, CheckInReply, CheckInView, GetTicket, TicketIssued, TicketView

__all__ = [
    "AcceptTerms", "GetProfile", "GetRegistrations", "GetTerms", "ListBookings", "ProfileView",
    "RegistrationsView", "TermsView", "UpdateProfile",
    "SlotWithdrawn", "SlotsDecided", "Decision", "ChangeCapacity", "CloseSessions",
    "AVAILABILITY_BUCKET", "SessionRemaining", "availability_key",
    "DEFAULT_PARTITIONS", "EVENT_TYPES", "STREAMS", "Applicant", "BookingCancelled",
    "BookingCheckedIn", "BookingConfirmed", "BookingNoShow", "BookingRejected", "BookingReply",
    "BookingRequested", "BookingStatus", "BookingView", "Calendar", "CancelBooking", "Caller",
    "Commands", "GetBooking", "GetCalendar", "GetTicket", "HistoryEntry", "Message",
    "PassportType", "Problem", "RejectionReason", "RequestBooking", "ServiceType", "Session",
    "SessionAvailability", "Slot", "SlotRejected", "SlotReleased", "SlotReserved", "StreamSpec",
    "TicketIssued", "TicketView", "derived_id", "partition_of", "partition_subject",
    "stream_for", "subject_for", "utcnow",
    "CheckIn", "CheckInReply", "CheckInView",
]
