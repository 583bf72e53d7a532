"""The conversation engine's steps: one module per part of the dialogue.

`assistant.engine.handle_turn` is the entry point; these modules are its sync parts, run on ORM
worker threads (see `assistant.db.run_db`) inside `translation.override(customer.language)`.
"""
