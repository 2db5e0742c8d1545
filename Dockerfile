# The image of every service: feedback, scoring or notify, chosen by the build argument SERVICE.
# Build from the repository root (docker-compose.yml and docker-compose.cluster.yml do it for you):
#   docker build --build-arg SERVICE=scoring -t alliance-scoring .
# Stage `dependencies` installs the pinned runtime dependencies of pyproject.toml into a virtualenv; stage
# `runtime` holds what every service shares (that virtualenv, shared/, a non-root user, the health check);
# the stage named after each service adds its port, its command and its extras; the last stage, built on the
# one SERVICE names, copies only that service's code (services/$SERVICE/) and drops root.
ARG SERVICE

FROM python:3.11-slim AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY pyproject.toml /build/pyproject.toml
# Only [project].dependencies (every one pinned), not the project itself: its code is copied below.
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('/build/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /build/requirements.txt \
    && /opt/venv/bin/pip install -r /build/requirements.txt

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0
RUN groupadd --system --gid 10001 alliance \
    && useradd --system --uid 10001 --gid alliance --no-create-home --shell /usr/sbin/nologin alliance
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY shared/ /app/shared/
COPY services/__init__.py /app/services/__init__.py
# /healthz: the process is alive (readiness, Kafka and MongoDB reachable, is /readyz). The port is the one the
# service's own variable names (ALLIANCE_SERVICE=scoring reads SCORING_PORT), so an override in compose holds.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ[os.environ['ALLIANCE_SERVICE'].upper() + '_PORT']; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2)"]

FROM runtime AS feedback
ENV ALLIANCE_SERVICE=feedback FEEDBACK_PORT=8001
EXPOSE 8001
# Operators run `docker compose exec feedback alliance issue-key CLINIC` (see docs/operations.md).
RUN printf '#!/bin/sh\nexec python -m services.feedback.admin "$@"\n' > /opt/venv/bin/alliance \
    && chmod 0755 /opt/venv/bin/alliance
CMD ["python", "-m", "services.feedback"]

FROM runtime AS scoring
ENV ALLIANCE_SERVICE=scoring SCORING_PORT=8002
EXPOSE 8002
# `docker compose exec scoring alliance fit-trajectories [CLINIC]` fits the expected trajectories now; the
# commands of a client's data lifecycle (rotate-kek, erase-client, export-clinic, erase-clinic) run here too.
# The `alliance` commands for clinics and keys run in the feedback container.
RUN printf '#!/bin/sh\nif [ "$1" = fit-trajectories ]; then\n  shift\n  exec python -m services.scoring.fit_trajectories "$@"\nfi\nexec python -m services.scoring.lifecycle.cli "$@"\n' > /opt/venv/bin/alliance \
    && chmod 0755 /opt/venv/bin/alliance
CMD ["python", "-m", "services.scoring"]

FROM runtime AS notify
ENV ALLIANCE_SERVICE=notify NOTIFY_PORT=8003
EXPOSE 8003
CMD ["python", "-m", "services.notify"]

# SERVICE names one of the three stages above (Docker resolves a stage name given by a build argument, and
# BuildKit builds only the stages that service needs). Without it the FROM is blank, and any other name has
# no services/$SERVICE/ to copy: either way the build fails here.
FROM ${SERVICE}
ARG SERVICE
COPY services/${SERVICE}/ /app/services/${SERVICE}/
USER alliance
