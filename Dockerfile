# Huying hub services: one image for the gateway, every subgraph and every connector.
# TypeScript runs as it is through tsx (a production dependency), so there is no build step.
#
#   docker build -t huying:local .
#   docker run --rm -e PORT=4001 -e KAFKA_BROKERS=kafka:9092 -e MONGODB_URI=mongodb://mongo:27017 \
#     huying:local calls
#
# The argument names the service (scripts/services.ts lists them); with none it runs the gateway.
# docker-compose.yml builds this image and picks each service with `command:`.

# NODE_IMAGE is the base, Node 24 LTS; a site with a registry mirror overrides it with --build-arg.
ARG NODE_IMAGE=node:24-bookworm-slim

# deps installs the production dependencies only (tsx is one of them).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# Only the manifests first: this layer is rebuilt only when they change. No dependency needs an
# install script; --ignore-scripts keeps it so with any npm (npm 11 blocks them by default as well).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# runtime is the image that runs: the dependencies and the source, no toolchain, as user node.
FROM ${NODE_IMAGE} AS runtime
# APOLLO_TELEMETRY_DISABLED=1: government networks must never see Apollo's telemetry or its cloud
# metadata probes. The services refuse to start with any other value.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    APOLLO_TELEMETRY_DISABLED=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The source: .dockerignore admits only package.json, package-lock.json, tsconfig.json and the
# folders platform/ rules/ gateway/ subgraphs/ connectors/ schemas/ scripts/ demo/ (tests excluded). One COPY of
# that allowlist, not one COPY per folder, so a folder that does not exist yet (connectors/ before
# the first connector lands) is simply absent instead of failing the build. Files stay owned by
# root: the service cannot rewrite its own code.
COPY . .
USER node
# Ready only while the service's Kafka and database answer. The slim image has no curl; Node's fetch
# does the probe. PORT is set per service (docker-compose.yml does).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--import", "tsx", "scripts/service.ts"]
CMD ["gateway"]
