"""Wiring of the floors below: the collector loop, long-running jobs, the demo, settings.

Modules: `collector` (source -> derivation -> store, one cycle at a time), `runner` (sources and
the run loop), `demo` (emulated fleet + collector + web app), `ops` (import, status, report),
`views` (JSON rows for status and report), `settings` (config -> runtime objects).
"""
