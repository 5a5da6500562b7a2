"""API keys: bearer tokens stored hashed, with scopes, expiry and revocation."""
