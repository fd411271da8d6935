"""neobank: an open-source platform for running an internet-only bank."""

__version__ = "0.1.0"
