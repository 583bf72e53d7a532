# One image for the bot and the admin: `docker run IMAGE` runs the bot (migrate, load content,
# long polling); `docker run IMAGE serve` the admin on :8000; see docker/entrypoint.sh for the rest.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The app runs as this user; it may write only var/ (SQLite database, log files, exports).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app

# Dependencies in their own layer: rebuilt only when pyproject.toml changes, not on code edits.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
       > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Static files for the admin, served by WhiteNoise. The key only lets settings load at build time.
RUN SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown -R app:app var \
    && chmod 0755 docker/entrypoint.sh docker/healthcheck.py

USER 10001:10001

VOLUME ["/app/var"]
EXPOSE 8000

# `serve`: the admin must answer over HTTP; other commands are healthy while their process runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["bot"]
