# syntax=docker/dockerfile:1
# Image for every app process of the pipeline: `docker run IMAGE worker`, `... dashboard`, etc.
# Configuration comes only from BUZZ_* environment variables at run time; nothing secret is baked in.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/buzz
# Dependencies first (pinned by constraints.txt), so code edits do not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
COPY pipeline ./pipeline
COPY dashboard ./dashboard
RUN /opt/buzz/bin/pip install -c constraints.txt .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="campaign-buzz" \
      org.opencontainers.image.description="Campaign buzz pipeline (buzz worker, dashboard, sources, migrate)" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/buzz /opt/buzz
RUN groupadd --system --gid 10001 buzz \
    && useradd --system --uid 10001 --gid buzz --home-dir /home/buzz --create-home buzz \
    && mkdir -p /data \
    && chown buzz:buzz /data
ENV PATH=/opt/buzz/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BUZZ_DATA_DIR=/data \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false
USER buzz
WORKDIR /home/buzz
# Worker web server (health) and dashboard; publish only what you need.
EXPOSE 6066 8501
ENTRYPOINT ["buzz"]
CMD ["--help"]
