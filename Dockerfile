# The portal's image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client gettext \
    && rm -rf /var/lib/apt/lists/*

COPY pyproject.toml README.md ./
COPY portal portal
COPY students students
COPY subsidies subsidies
COPY dropout_control dropout_control
COPY nutrition nutrition
COPY reports reports
COPY templates templates
COPY static static
COPY locale locale
COPY manage.py ./
# Editable, so that the project's templates, static files and catalogues stay where settings look (/app).
RUN pip install -e .

# collectstatic needs settings but no database or secret of the deployment.
RUN DATABASE_URL=postgres://build@localhost/build SECRET_KEY=build-only DEBUG=0 \
    python manage.py collectstatic --noinput

RUN useradd --create-home portal && mkdir -p /app/var/media && chown -R portal /app/var
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
