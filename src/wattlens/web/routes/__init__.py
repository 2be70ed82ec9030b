"""API and page routes, one module per resource; each exposes `router(ctx) -> APIRouter`."""
