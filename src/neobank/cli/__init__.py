"""The neobank command line."""
