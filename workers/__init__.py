"""Event intake and background jobs: schema, Redis stream, consumer, RQ jobs and history import."""
