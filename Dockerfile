# The one image for web, worker, beat and flower (see docker-compose.yml).
# PYTHON_IMAGE: any image with Python 3.11 and pip (scripts/compose_run.sh builds one offline).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are collected at build time; the throwaway key only lets settings load.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home parroter && mkdir -p /app/media && chown parroter /app/media
USER parroter

EXPOSE 8000
CMD ["gunicorn", "image_parroter.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--access-logfile", "-", "--no-control-socket"]
