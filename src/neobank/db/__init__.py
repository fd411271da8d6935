"""Database plumbing: the embedded server, connection pools, migrations, units of work."""
