"""Invoke task modules, one per namespace; each module's docstring is the namespace's help."""
