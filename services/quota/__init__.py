"""The quota service: the only judge of whether a session has a slot left (see README.md)."""
