"""Shared fixtures. Factories live in tests/factories.py; fake network servers in tests/fakes/."""
