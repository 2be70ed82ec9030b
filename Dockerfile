# wattlens: one process (collector + API + dashboard) that owns one DuckDB file under /data.
#   docker build -t wattlens .
#   docker run -p 8080:8080 -v wattlens-data:/data \
#     -e WATTLENS_BACKEND_PROMETHEUS_URL=http://prometheus:9090 wattlens
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WATTLENS_SERVICE_HOST=0.0.0.0 WATTLENS_SERVICE_PORT=8080 \
    WATTLENS_STORE_PATH=/data/wattlens.duckdb
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && groupadd --system --gid 10001 wattlens \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin wattlens \
    && mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (the process answers); /readyz says whether the data is fresh.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["wattlens"]
CMD ["serve"]
