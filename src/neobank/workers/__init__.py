"""Background work: periodic maintenance jobs, run in-process or by `neobank worker`."""
