# aidrop: one image for the API (`aidrop serve`) and the worker (`aidrop worker`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIDROP_DATA_DIR=/data

WORKDIR /app
COPY . /app
RUN pip install -c constraints.txt . \
    && useradd --create-home --uid 10001 aidrop \
    && mkdir -p /data \
    && chown aidrop /data

USER aidrop
EXPOSE 8000
CMD ["aidrop", "serve", "--host", "0.0.0.0", "--port", "8000"]
