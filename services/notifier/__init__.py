"""The notifier service: signed QR tickets, check-in, no-shows and reminders (see README.md)."""
