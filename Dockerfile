# Build stage: compile the release binary.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY static ./static
COPY config ./config
RUN cargo build --release --locked --bin gcli2api

# Run stage: a small image with only the binary, running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /app gcli2api \
 && mkdir -p /app/creds && chown -R gcli2api /app
WORKDIR /app
COPY --from=build /src/target/release/gcli2api /usr/local/bin/gcli2api
COPY --from=build /src/config ./config
USER gcli2api
ENV HOST=0.0.0.0 PORT=7861 CREDENTIALS_DIR=/app/creds
EXPOSE 7861
VOLUME ["/app/creds"]
# Liveness: the process answers. Readiness (store reachable, a usable credential) is /readyz, used by
# docker-compose.yml and by orchestrators that tell the two apart.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["gcli2api"]
