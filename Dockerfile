# The one image for web, worker, beat and flower (see docker-compose.yml).
# PYTHON_IMAGE: any image with Python 3.11 and pip (scripts/compose_run.sh builds one offline).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are collected at build time; the throwaway key only lets settings load. The
# front (nginx) keeps its files in /app/var; gunicorn's socket has a folder of its own, which
# compose shares between the front and the web.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home parroter \
    && mkdir -p /app/media /app/var /run/parroter \
    && chown parroter /app/media /app/var /run/parroter && chmod 700 /run/parroter
USER parroter

# The front listens on every address of the container; gunicorn only on its Unix socket, and
# believes what the front there says of the client (docs/FRONT.md).
ENV PORT=8000 FRONT_ADDRESS=0.0.0.0 WEB_SOCKET=/run/parroter/web.sock DJANGO_TRUSTED_PROXIES=unix
EXPOSE 8000
# By itself the image serves through its front: honcho runs the Procfile's front and web.
CMD ["honcho", "start", "front", "web"]
