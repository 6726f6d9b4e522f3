# syntax=docker/dockerfile:1
# probe-injector: the webhook image.
#
#   docker build -t registry.example.com/platform/probe-injector:0.1.0 .
#
# Two stages: `build` installs every dependency and compiles TypeScript to dist/; the runtime
# stage installs the production dependencies only and copies dist/ in. The runtime image writes
# nothing at run time (read-only root filesystem friendly): `serve` with --tls-cert-file/
# --tls-key-file (as the manifests run it) writes no file at all; without them it writes a
# self-signed certificate under $TMPDIR (default /tmp), so give it a writable /tmp (an emptyDir in
# Kubernetes, `--tmpfs /tmp` with `docker run --read-only`).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional too: the lock file marks typescript devOptional (our devDependency, and an
# optional peer of valibot), which --omit=dev alone keeps (23 MB). No production dependency is
# optional, so nothing else changes (the lock file says which: no "optional" outside "dev").
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && npm cache clean --force \
 && groupadd --system --gid 10001 probe-injector \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin probe-injector
COPY --from=build /app/dist ./dist
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd. The
# application files stay owned by root: the process cannot change them.
USER 10001:10001
# 8443: the webhook (HTTPS); 8080: GET /metrics on plain HTTP (`serve --metrics-port`, and the
# controller's /metrics, /healthz, /readyz with `controller --port`).
EXPOSE 8443 8080
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
