# Dockyard: one image for the API (`dockyard serve`), the workers (`dockyard worker`) and the
# one-off schema migration (`dockyard migrate`). See compose.yaml and "Scaling out" in README.md.

# -- the browser libraries the pages serve (3Dmol.js, Chart.js), built from package-lock.json --
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
COPY scripts/assets.sh scripts/
RUN bash scripts/assets.sh

# -- Python: the locked dependencies first (a layer that changes only with the lock), then Dockyard --
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# RDKit's drawing code links these X and font libraries; nothing else needs system packages.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libxrender1 libx11-6 libexpat1 libbsd0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY --from=assets /build/src/dockyard/web/static/vendor ./src/dockyard/web/static/vendor
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 dockyard \
    && mkdir /data && chown dockyard /data
USER 10001
ENV DOCKYARD_DATA_DIR=/data
EXPOSE 5000
CMD ["dockyard", "serve", "--host", "0.0.0.0", "--port", "5000"]
