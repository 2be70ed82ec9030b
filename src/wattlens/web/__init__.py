"""The web service: JSON API (v1 compatible, v2), dashboard, methodology, `/metrics`.

Modules: `app` (`create_app`), `server` (`serve_in_thread`), `routes/*` (one per resource),
`views`, `legacy`, `series` (JSON bodies), `planning` (the planning API's bodies), `snapshot`
(store reads and the TTL cache), `params` (request validation), `errors` (the one error shape),
`exporter` (Prometheus collector), `methodology` (the generated methodology page and Markdown).
"""

from wattlens.web.app import create_app
from wattlens.web.methodology import render_methodology_markdown
from wattlens.web.server import ServerHandle, serve_in_thread

__all__ = ["ServerHandle", "create_app", "render_methodology_markdown", "serve_in_thread"]
