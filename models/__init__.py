"""Shared models: plain pydantic models that travel through Temporal, SQLModel tables, settings, sessions.

Modules that workflows import (`events`, `enrollment`, `search_attributes`) never import sqlmodel.
"""
