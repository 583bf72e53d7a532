"""Admin for prompts and their version history."""
