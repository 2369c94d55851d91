# One image for the worker and the API (and the CLI): `docker compose up` runs both.
FROM python:3.11-slim
WORKDIR /app
# Bytecode stays on (pip compiles the package at install): without it the workflow sandbox
# recompiles the workflow modules from source for every workflow it runs.
ENV PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY activities activities
COPY api api
COPY cli cli
COPY models models
COPY simulator simulator
COPY templates templates
COPY workflows workflows
COPY worker.py ./
RUN pip install --no-cache-dir .
ENV NURTURE_TEMPLATES_DIR=/app/templates
CMD ["nurture", "--help"]
