"""clipdesk: a local photo organizer that finds pictures by what is in them."""

__version__ = "0.1.0"
