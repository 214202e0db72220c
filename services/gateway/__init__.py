"""The gateway: the HTTP API that turns calls into commands to the services over NATS (see README.md)."""
