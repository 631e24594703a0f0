# syntax=docker/dockerfile:1
# The microcred application image: one image for `microcred setup`, `microcred api` and
# `microcred worker` (see docker-compose.yml). Runtime dependencies come only from the
# hash-pinned requirements.lock; the project itself is an editable install, because
# microcred.migrate finds alembic.ini and migrations/ next to the package, in /app. The web app
# is built in a Node.js stage from frontend/package-lock.json and only its output is kept.
#
# Pin the base image by digest for reproducible builds:
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:24-slim

# ---- web: the web app built into /web/dist, its packages exactly as package-lock.json pins them
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY frontend/package.json frontend/package-lock.json frontend/.npmrc ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# ---- build: a virtual environment in /opt/venv and the source in /app -----------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Runtime dependencies, exactly as locked (names, versions and hashes; nothing resolved here).
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# The build backend (setuptools) is not a runtime dependency, so requirements.lock lacks it.
# Take its hash-pinned entry from requirements-dev.lock and install it outside the venv: it
# builds the editable install below and never reaches the runtime image.
COPY requirements-dev.lock ./
RUN awk '/^[^ #]/ { keep = /^setuptools==/ } keep' requirements-dev.lock > /tmp/build.lock \
    && grep -q '^setuptools==' /tmp/build.lock \
    && pip install --require-hashes --no-deps --target /opt/build-tools -r /tmp/build.lock

COPY . .
RUN PYTHONPATH=/opt/build-tools pip install --no-deps --no-build-isolation -e . \
    && pip uninstall --yes setuptools pip \
    && python -m compileall -q /app

# ---- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MICROCRED_ENVIRONMENT=production \
    MICROCRED_DATA_DIR=/var/lib/microcred
RUN groupadd --system --gid 10001 microcred \
    && useradd --system --uid 10001 --gid microcred --home-dir /var/lib/microcred --create-home \
       --shell /usr/sbin/nologin microcred
# Root owns the code and the environment; the service user can only read them.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# The API serves the built app at / from frontend/dist beside its package (api/webapp.py).
COPY --from=web /web/dist /app/frontend/dist
WORKDIR /app
USER microcred:microcred
EXPOSE 8000
CMD ["microcred", "api", "--host", "0.0.0.0", "--port", "8000"]
