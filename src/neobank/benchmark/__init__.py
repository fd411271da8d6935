"""`neobank bench`: the ledger's throughput and latency over HTTP, measured as ratios against
PostgreSQL's own pgbench TPC-B on the same server in the same run."""
