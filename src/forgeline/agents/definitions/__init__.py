"""The built-in agent definitions (`*.md`), read with `importlib.resources`."""
