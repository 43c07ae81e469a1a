# Production image: clubfund against an external PostgreSQL (see docs/operators.md).
# Configuration comes only from the environment:
#   DATABASE_URL                    the service role's login (clubfund_app)
#   CLUBFUND_MIGRATE_DATABASE_URL   the schema owner's login, used by `clubfund migrate`
#   CLUBFUND_AUDIT_SIGNING_KEY      the audit signing key (base64), or
#   CLUBFUND_AUDIT_KEY_FILE         a mounted file holding it; with neither, one is created
#                                   in the data volume
#   CLUBFUND_DATA_DIR               the writable data volume (here /data)
#   CLUBFUND_HOST / CLUBFUND_PORT   listen address (here 0.0.0.0:8000)

FROM python:3.11-slim AS build
WORKDIR /src
# Build tools (the dev lock: setuptools, wheel) live only in this stage.
COPY requirements.lock requirements-runtime.lock pyproject.toml README.md ./
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY ledger ./ledger
COPY service ./service
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation -w /wheels . \
 && python -m venv /opt/clubfund \
 && /opt/clubfund/bin/pip install --no-cache-dir --require-hashes -r requirements-runtime.lock \
 && /opt/clubfund/bin/pip install --no-cache-dir --no-deps /wheels/*.whl

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin clubfund \
 && mkdir /data && chown clubfund /data && chmod 0700 /data
WORKDIR /app
COPY --from=build /opt/clubfund /opt/clubfund
COPY migrations ./migrations
COPY alembic.ini ./
ENV PATH=/opt/clubfund/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CLUBFUND_DATA_DIR=/data \
    CLUBFUND_HOST=0.0.0.0 \
    CLUBFUND_PORT=8000
VOLUME /data
USER clubfund
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['CLUBFUND_PORT'] + '/readyz', timeout=2)"]
CMD ["sh", "-c", "clubfund migrate && exec clubfund serve"]
