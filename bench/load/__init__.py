"""The HTTP load benchmark: locust users, open SSE screens, the web tier on our own PostgreSQL cluster."""
