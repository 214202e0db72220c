"""The distributed topology: a 3-node NATS JetStream cluster, PostgreSQL, replicated services.

`compose.yaml` describes it for containers; `LocalCluster` runs the same services' commands as
local processes on one machine (loopback ports), so it can be run and tested without a container engine.
"""
