"""The booking service: accounts, bookings and NIK claims, every citizen-facing rule (see README.md)."""
