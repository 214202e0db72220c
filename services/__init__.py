"""The four services, each a bounded context with the same rooms: domain, application, messaging, main."""
