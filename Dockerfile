# Build the wheel in one stage, install it (not the source tree) in the next: what runs is what a
# plain `pip install` gives, with the migrations and the web app inside the package.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini constraints.txt ./
COPY api ./api
COPY alembic ./alembic
COPY pwa ./pwa
RUN pip wheel --no-cache-dir --no-deps -w /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SAFEGRID_DATA_DIR=/data
COPY --from=build /dist /dist
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt /dist/*.whl && rm -rf /dist /tmp/constraints.txt \
    && useradd --system --home /data safegrid && mkdir -p /data && chown safegrid /data
USER safegrid
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
CMD ["safegrid", "serve", "--host", "0.0.0.0", "--port", "8000"]
