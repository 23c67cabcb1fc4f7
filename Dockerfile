FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SAFEGRID_DATA_DIR=/data
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY api ./api
COPY alembic ./alembic
COPY pwa ./pwa
RUN pip install --no-cache-dir -e . && useradd --system --home /data safegrid && mkdir -p /data \
    && chown safegrid /data
USER safegrid
VOLUME ["/data"]
EXPOSE 8000
CMD ["safegrid", "serve", "--host", "0.0.0.0", "--port", "8000"]
