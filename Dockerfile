# Production image for the FastVue Marketplace back office.
# One image, three roles (see docker-compose.yml):
#   marketplace api     HTTP edge (default)
#   marketplace worker  Temporal worker
#   marketplace migrate Alembic upgrade, one-shot
# The storefront (web/) is built in a Node stage of its own; only its output (web/dist)
# goes into the image, which the API serves on its own origin.

FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MARKETPLACE_WEB_DIST_DIR=/app/web/dist

WORKDIR /app

# DejaVu gives invoices every Latin, Greek and Cyrillic name; without it they fall back
# to Helvetica and print what it lacks as "?".
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# The whole dependency tree, exactly as locked (versions and hashes), in a layer of its
# own: it is rebuilt only when the lock changes. See "Dependencies" in README.md.
COPY requirements.lock ./
RUN pip install --require-hashes --only-binary :all: -r requirements.lock

# The source tree stays in /app (alembic.ini and migrations/ are read from here);
# .dockerignore keeps virtualenvs, local data, caches and .env out of the image.
# The project itself adds no dependency: everything came from the lock.
COPY . .
COPY --from=web /web/dist ./web/dist
RUN pip install --no-deps . ./clients/fastvue_license \
 && groupadd --system --gid 10001 marketplace \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home marketplace \
 && mkdir -p /app/.data \
 && chown 10001:10001 /app/.data

# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001

EXPOSE 8000

CMD ["marketplace", "api", "--host", "0.0.0.0", "--port", "8000"]
