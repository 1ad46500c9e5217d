"""Forgeline: agents that research, plan and implement changes on git repositories."""

__version__ = "0.1.0"
