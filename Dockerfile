# ssphub-bot: the SSP Hub's community bot for Tchap (Matrix).
#
#   docker build -t ssphub-bot .
#
# The dependencies come from requirements.lock, the versions CI tests, in a layer rebuilt only
# when the runtime requirements or the lock change; a change of code rebuilds only the last
# small layer. The final image is the Python base image plus a virtual environment, nothing else.
ARG PYTHON_IMAGE=python:3.11-slim

# The runtime requirements, read from pyproject.toml: a change elsewhere in that file (version,
# tool settings, test extras) leaves them, and so the dependency layer, as they were.
FROM ${PYTHON_IMAGE} AS requirements
WORKDIR /build
COPY pyproject.toml ./
RUN python -c "import tomllib; \
project = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print(*project['dependencies'], sep='\n')" > runtime.txt

# The dependencies, pinned by the lock, in a virtual environment without pip.
FROM ${PYTHON_IMAGE} AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY --from=requirements /build/runtime.txt ./
COPY requirements.lock ./
RUN python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --requirement runtime.txt \
        --constraint requirements.lock \
    && pip --python /opt/venv/bin/python check

# The bot itself, built as a wheel and installed under /stage with its bytecode, so that the
# final image takes exactly its files.
FROM dependencies AS bot
RUN pip install --constraint requirements.lock setuptools
COPY pyproject.toml README.md ./
COPY migrations ./migrations
COPY bot ./bot
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && pip --python /opt/venv/bin/python install --no-deps --no-index --no-compile \
        --no-warn-script-location --root /stage /wheels/*.whl \
    && python -m compileall -q -s /stage -p / --invalidation-mode unchecked-hash /stage

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    BOT_CONFIG=/config/config.yaml

# uid 10001 owns /data only. /app, the working directory, points its "data" at /data, so the
# default data_dir (./data) is the volume too.
RUN groupadd --gid 10001 ssphub \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /data \
        --shell /usr/sbin/nologin ssphub \
    && mkdir -p /data /config /app \
    && chown 10001:10001 /data && chmod 0700 /data \
    && ln -s /data /app/data
WORKDIR /app

COPY --from=dependencies /opt/venv /opt/venv
COPY --from=bot /stage/ /

# Numeric, so that Kubernetes can check runAsNonRoot.
USER 10001:10001
# The database (SQLite by default), the Matrix session and the crypto store live here:
# losing it means a new device and messages that cannot be decrypted. Back it up.
VOLUME ["/data"]
EXPOSE 8080

# Asks /healthz at the address the configuration gives (healthy when the web server is off).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["ssphub-bot", "healthcheck"]

ENTRYPOINT ["ssphub-bot"]
CMD ["run"]
