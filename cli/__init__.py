"""The `onemap` command line: database, demo data, imports, server, workers, audits."""
