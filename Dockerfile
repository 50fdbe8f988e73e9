# syntax=docker/dockerfile:1
# etcd-monitor exporter image: `docker build -t etcd-monitor .` (docker-compose.yml builds it as well).
# Stage 1 compiles TypeScript with the dev dependencies; stage 2 carries only dist/ and production modules.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-info.mjs ./scripts/
# The commit `etcd-monitor --version` prints (.git is not in the build context): --build-arg BUILD_REVISION=$(git rev-parse HEAD)
ARG BUILD_REVISION
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund --loglevel=error \
  && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    ETCD_MONITOR_DATA_DIR=/var/lib/etcd-monitor \
    ETCD_MONITOR_API_PORT=8080
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# Shipped with the package (see "files" in package.json) so the image can hand them out too.
COPY alert-rules ./alert-rules
COPY alertmanager ./alertmanager
COPY dashboards ./dashboards
# The data directory (alert history, benchmark results) must belong to the unprivileged user, so a named
# volume mounted here starts out writable.
RUN mkdir -p /var/lib/etcd-monitor && chown node:node /var/lib/etcd-monitor
USER node
EXPOSE 8080
# /health is the exporter's own liveness (never etcd's), so a sick cluster does not get the exporter restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ETCD_MONITOR_API_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=25", "bin/etcd-monitor.js"]
CMD ["serve"]
