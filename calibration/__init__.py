"""The alert budget of DOMAIN.md version 2.1, measured: a reference population replayed through the pure domain.

Modules: ``population`` (the seeded generator), ``replay`` (facts fed to the domain in production order),
``figures`` (the five budget figures), ``sweep`` (the grid of population parameters), ``report`` and
``plots`` (the outputs), ``cli`` (the command).
"""
