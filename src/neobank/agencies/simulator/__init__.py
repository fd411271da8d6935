"""The simulator's HTTP side: knobs, latency sampling, token buckets, the app."""
