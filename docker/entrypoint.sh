#!/bin/sh
# Container commands (one image): bot (default), webhook, serve, migrate, manage <args>.
# Anything else is run as given, e.g. `docker run -it IMAGE sh`.
set -eu

command="${1:-bot}"
if [ "$#" -gt 0 ]; then
  shift
fi

prepare() {
  python manage.py migrate --noinput
  python manage.py load_content
}

case "$command" in
  bot)
    prepare
    exec python manage.py runbot "$@"
    ;;
  webhook)
    prepare
    exec python manage.py runbot --webhook "$@"
    ;;
  serve)
    python manage.py migrate --noinput
    # Django has no ASGI lifespan support; WhiteNoise serves the collected static files.
    exec python -m uvicorn assistant.asgi:application --host 0.0.0.0 --port "${PORT:-8000}" \
      --lifespan off --proxy-headers "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
