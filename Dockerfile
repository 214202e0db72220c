# The project's image: one image, every service; the command picks the service (`paspor service NAME`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first (cached while only the code changes).
COPY pyproject.toml README.md ./
RUN mkdir -p shared services paspor benchmarks \
    && touch shared/__init__.py services/__init__.py paspor/__init__.py benchmarks/__init__.py \
    && pip install . && pip uninstall -y antrian-paspor

COPY shared ./shared
COPY services ./services
COPY paspor ./paspor
COPY benchmarks ./benchmarks
RUN pip install --no-deps . \
    && useradd --system --home-dir /data --uid 10001 paspor \
    && mkdir -p /data && chown paspor /data

USER paspor
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["paspor"]
CMD ["--help"]
