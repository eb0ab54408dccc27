"""The HTTP API: personalized search, event intake and health checks."""
