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
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
COPY lua ./lua
COPY config ./config
# The image's `node` user (uid 1000); corral writes nothing to disk.
USER node
EXPOSE 8080
# A TCP check of the first listener; CORRAL_PORT moves it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "require('node:net').connect(Number(process.env.CORRAL_PORT || 8080), '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Give it an origin with CORRAL_UPSTREAM, or a file with CORRAL_CONFIG (mount it), e.g.
#   docker run -p 8080:8080 -e CORRAL_UPSTREAM=http://api:3000 corral
#   docker run -p 8080:8080 -v $PWD/corral.yaml:/etc/corral.yaml -e CORRAL_CONFIG=/etc/corral.yaml corral
ENTRYPOINT ["node", "dist/cli.js"]
