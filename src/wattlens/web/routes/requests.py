"""`/api/v2/report/requests.svg`: the dashboard's Wh-per-request panel, drawn on the server.

One bar per deployment over the period: the idle part (idle power x the period, per finished
request) and the marginal rest, from the same `report` body as `/api/v2/report` (its JSON twin).
Plain SVG with escaped text and no scripts, shown through an `<img>`, so the dashboard needs no
extra script; deployments that do not count requests say so.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.core.errors import NotFoundError
from wattlens.web.context import WebContext

WIDTH, ROW, LABEL, BAR = 640, 30, 230, 300
IDLE_FILL, MARGINAL_FILL, TOTAL_FILL = "#9e9e9e", "#1f77b4", "#1f77b4"


def _text(x: float, y: float, s: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(s)}</text>'


def requests_svg(body: dict[str, Any] | None, note: str = "") -> str:
    """The panel for a `report` body (None: nothing stored in the period, `note` says why)."""
    rows = [] if body is None else [r for r in body["deployments"]]
    served = [r for r in rows if r.get("energy_wh_per_request") is not None]
    height = 56 + ROW * max(1, len(rows))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    if not rows:
        parts.append(_text(8, 30, note or "no stored data in this period", fill="#555555"))
        return "".join(parts) + "</svg>"
    top = max((r["energy_wh_per_request"] for r in served), default=0.0) or 1.0
    for k, r in enumerate(rows):
        y = 16 + ROW * k
        name = str(r["deployment"])
        parts.append(_text(8, y + 15, name if len(name) <= 34 else name[:33] + "…"))
        wh = r.get("energy_wh_per_request")
        if wh is None:
            parts.append(_text(LABEL, y + 15, "no request counts (no engine metrics)",
                               fill="#555555"))  # fmt: skip
            continue
        idle = r.get("idle_wh_per_request")
        attrs = f'data-deployment="{escape(name)}" data-wh="{wh:.6g}"'
        if idle is None:
            w = BAR * wh / top
            parts.append(f'<rect x="{LABEL}" y="{y + 3}" width="{w:.1f}" height="18" '
                         f'fill="{TOTAL_FILL}" {attrs}/>')  # fmt: skip
            label = f"{wh:.3g} Wh (no idle time to split)"
        else:
            wi, wm = BAR * idle / top, BAR * (wh - idle) / top
            parts.append(
                f'<rect x="{LABEL}" y="{y + 3}" width="{wi:.1f}" height="18" '
                f'fill="{IDLE_FILL}" data-part="idle" data-idle-wh="{idle:.6g}" {attrs}/>'
            )
            parts.append(f'<rect x="{LABEL + wi:.1f}" y="{y + 3}" width="{max(wm, 0):.1f}" '
                         f'height="18" fill="{MARGINAL_FILL}" data-part="marginal"/>')  # fmt: skip
            label = f"{wh:.3g} Wh ({idle:.3g} idle)"
        parts.append(_text(LABEL + BAR * wh / top + 6, y + 15, label))
    legend_y = height - 12
    parts += [
        f'<rect x="8" y="{legend_y - 10}" width="12" height="12" fill="{IDLE_FILL}"/>',
        _text(24, legend_y, "idle: idle power x period / requests"),
        f'<rect x="260" y="{legend_y - 10}" width="12" height="12" fill="{MARGINAL_FILL}"/>',
        _text(276, legend_y, "marginal: the rest of the energy per request (Wh)"),
    ]
    return "".join(parts) + "</svg>"


def router(ctx: WebContext) -> APIRouter:
    """Route of the Wh-per-request panel."""
    r = APIRouter(prefix="/api/v2/report", tags=["v2 cli reads"])

    @r.get("/requests.svg")
    def requests_panel(
        range: Annotated[str | None, Query(description="last period, e.g. 7d")] = None,  # noqa: A002
    ) -> Response:
        """Wh per finished request per deployment, idle and marginal parts (SVG)."""
        from wattlens.app.ops import period, report

        since_s, until_s = period(None, None, range or "7d", ctx.clock())
        thr = ctx.config.thresholds.min_tokens_per_s_for_ratio
        try:
            body: dict[str, Any] | None = report(
                ctx.store, since_s=since_s, until_s=until_s, min_tokens_per_s=thr
            )
            note = ""
        except NotFoundError as e:  # an empty period is a panel state, not a broken image
            body, note = None, str(e)
        svg = requests_svg(body, note)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

    return r


__all__ = ["requests_svg", "router"]
