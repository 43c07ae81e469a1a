# Production image: clubfund against an external PostgreSQL.
# Configuration comes only from the environment:
#   DATABASE_URL                    the service's role (clubfund_app)
#   CLUBFUND_MIGRATE_DATABASE_URL   the schema owner, used by `clubfund migrate`
#   CLUBFUND_HOST / CLUBFUND_PORT   listen address (default here 0.0.0.0:8000)

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/clubfund
COPY requirements.lock pyproject.toml README.md ./
RUN /opt/clubfund/bin/pip install --no-cache-dir --require-hashes -r requirements.lock
COPY ledger ./ledger
COPY service ./service
RUN /opt/clubfund/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin clubfund
WORKDIR /app
COPY --from=build /opt/clubfund /opt/clubfund
COPY migrations ./migrations
COPY alembic.ini ./
ENV PATH=/opt/clubfund/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CLUBFUND_HOST=0.0.0.0 \
    CLUBFUND_PORT=8000
USER clubfund
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CLUBFUND_PORT\"]}/healthz')"
CMD ["sh", "-c", "clubfund migrate && exec clubfund serve"]
