"""Deterministic workflow code: the `Sequence` base (`workflows.sequence`), the reference
sequences (`workflows.trade_intro`) and the registry the worker and CLI use (`workflows.registry`).

Import from the submodules: this package imports nothing itself, so the workflow sandbox
loads only what a workflow needs.
"""
