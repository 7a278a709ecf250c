FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY gateway ./gateway
# Every runtime dependency, direct or not, at the version pinned in constraints.txt.
RUN pip install --constraint constraints.txt . && rm -rf /src

# An unprivileged user; /var/lib/gateway is the one writable place (point
# [gateway] database at it, e.g. "sqlite:////var/lib/gateway/gateway.db").
RUN useradd --system --uid 10001 --user-group --no-create-home gateway \
    && mkdir -p /var/lib/gateway \
    && chown gateway:gateway /var/lib/gateway
WORKDIR /var/lib/gateway
USER gateway

EXPOSE 8000
# Ready = configuration loaded and store reachable. The slim image has no curl; a 503 or a
# refused connection raises, so the check exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# Fails closed: without GATEWAY_CONFIG (a mounted TOML file) the gateway refuses to start.
# docker run -v ./gateway.toml:/etc/gateway/gateway.toml:ro \
#   -e GATEWAY_CONFIG=/etc/gateway/gateway.toml -p 8000:8000 adset-gateway
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
