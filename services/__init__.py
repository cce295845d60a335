"""The use cases: one module per domain, shared by the API and the CLI.

A service function decides (with the rules in ``domain``), reads and writes through the
repositories in ``models.repositories``, owns the unit of work (it commits), and only after
the commit starts, signals, updates or queries a workflow through the Temporal front door
(``integrations.temporal.front_door``). It takes what it needs as arguments (the session,
the adapters, the front door, plain values or domain objects) and returns rows or domain
objects; it never sees HTTP, and the routers never see SQL or Temporal.
"""
