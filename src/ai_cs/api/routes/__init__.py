"""Routers of the Tianwang API, one module per domain."""
