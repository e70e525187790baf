# IAZE production image: gunicorn (uvicorn workers, ASGI) behind whatever proxy you use, data on the /data volume.
# A proxy in front must not buffer /eventos/ (docs/workspace.md#live-updates).
# Debian bookworm's postgresql-client (pg_dump 15) matches the PostgreSQL 15 of compose.postgres.yaml,
# so `manage.py backup` can take a native dump next to its portable export.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    WEB_CONCURRENCY=3

RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 iaze \
 && useradd --system --uid 10001 --gid iaze --home-dir /app --shell /usr/sbin/nologin iaze

WORKDIR /app
# Every package pinned, transitive ones included (make lock).
COPY requirements.lock .
RUN pip install -r requirements.lock

COPY --chown=iaze:iaze . .
# Static files are part of the image; build-time settings never touch the data volume.
RUN DATA_DIR=/tmp/build-data SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
 && mkdir -p /data && chown iaze:iaze /data && chmod 700 /data

USER iaze
# Everything that must outlive the container: the embedded database (SQLite profile),
# the generated secret key, backups and deploy snapshots.
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# Migrations only move forward and are checked for data loss; the worker service waits for this one.
CMD ["sh", "-c", "python manage.py check_migrations && python manage.py migrate --noinput && python manage.py ensure_superuser && if [ \"${WEB_WORKER:-asgi}\" = asgi ]; then app=iaze.asgi:application; else app=iaze.wsgi:application; fi && exec gunicorn $app --config gunicorn.conf.py --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY} --graceful-timeout 20 --access-logfile -"]
