"""Pieces shared by the HTTP apps (API on 6060, dispatch on 8005): errors, auth dependencies."""
