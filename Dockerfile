# ssphub-bot: the SSP Hub's community bot for Tchap (Matrix).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin ssphub \
    && mkdir -p /data /config && chown ssphub:ssphub /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY migrations ./migrations
RUN pip install . && rm -rf /app/build

USER ssphub
# The database (SQLite by default), the Matrix session and the crypto store live here:
# losing it means a new device and messages that cannot be decrypted. Back it up.
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"

ENTRYPOINT ["ssphub-bot"]
CMD ["run", "--config", "/config/config.yaml"]
