# Zenyard: one image for the API (`zenyard serve`, the default) and the
# Celery worker (`zenyard worker`). The `flower` stage adds Flower.
#
#   docker build -t zenyard .
#   docker build --target flower -t zenyard-flower .

FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . .
RUN pip install . \
    && cd / && rm -rf /src \
    && useradd --create-home --uid 10001 --user-group zenyard \
    && mkdir -p /home/zenyard/.zenyard \
    && chown zenyard:zenyard /home/zenyard/.zenyard

# Used only without an external database/broker (embedded SQLite default).
ENV ZENYARD_DATA_DIR=/home/zenyard/.zenyard
WORKDIR /home/zenyard


FROM base AS flower
RUN pip install "flower>=2,<3"
USER zenyard
EXPOSE 5555
CMD ["celery", "--broker=redis://redis:6379/0", "flower", "--port=5555"]


FROM base AS zenyard
USER zenyard
EXPOSE 8080
CMD ["zenyard", "serve", "--host", "0.0.0.0", "--port", "8080"]
