"""Plumbing every service shares: settings, event stores, the outbox relay, JetStream consumers."""
