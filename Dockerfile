# syntax=docker/dockerfile:1
# corral: build with the dev toolchain, run with production dependencies only, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
# corral writes the address of each listener to CORRAL_PORT_FILE once it listens, and the
# health check below reads it: the port may come from CORRAL_PORT, --port or the YAML.
ENV NODE_ENV=production \
    CORRAL_PORT_FILE=/tmp/corral.port
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
COPY lua ./lua
COPY config ./config
# The image's `node` user (uid 1000); corral writes nothing to disk but its port file in /tmp
# (with a read-only root filesystem, mount a tmpfs on /tmp, or point CORRAL_PORT_FILE elsewhere).
USER node
# 8080: clients. The admin API (purge, metrics, health, reload, explain) listens on
# 127.0.0.1:9090 by default, inside the container only; to scrape /metrics from outside, set
# admin.host: 0.0.0.0 in the YAML, publish 9090, and set CORRAL_ADMIN_TOKEN for the rest of it.
EXPOSE 8080
# corral health reads the port file: a TCP check of every client listener, and GET /readyz on
# the admin listener (ready once listening with its config loaded; never failing on Redis alone,
# since corral serves without it). Exit 0 healthy, 1 not; with --workers, the primary writes the
# file once a worker listens.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "/app/dist/cli.js", "health"]
STOPSIGNAL SIGTERM
# Give it an origin with CORRAL_UPSTREAM, or a file with CORRAL_CONFIG (mount it), e.g.
#   docker run -p 8080:8080 -e CORRAL_UPSTREAM=http://api:3000 corral
#   docker run -p 8080:8080 -v $PWD/corral.yaml:/etc/corral.yaml -e CORRAL_CONFIG=/etc/corral.yaml corral
ENTRYPOINT ["node", "dist/cli.js"]
