"""Users who sign in, their API tokens and the access log (docs/api.md)."""
