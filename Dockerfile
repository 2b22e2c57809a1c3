# syntax=docker/dockerfile:1
# Gatehouse image: the JavaScript that `npm run build` emits from the TypeScript sources (dist/),
# as `npm start` runs it; the sources stay beside it (tsx, a production dependency, runs them if
# dist/ is ever older than src/).
#
#   docker build -t gatehouse:0.1.0 .
#   docker run --read-only --tmpfs /tmp:size=64m -v gatehouse-data:/data -p 3000:3000 --env-file .env gatehouse:0.1.0
#
# Node 24 LTS (security fixes until April 2028, a year longer than 22): CI runs the tests on this
# exact version too (.ci/run); newer majors are not tested. Debian bookworm slim: glibc for
# esbuild's native package, no compiler, no curl.
ARG NODE_VERSION=24.22.3

# ---- dependencies: production packages only, plus the embedded database template -------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The postinstall script (scripts/pglite-template.mjs) makes the embedded database template under
# node_modules/.cache/gatehouse, so that a new data directory is a copy instead of an initdb.
COPY scripts/pglite-template.mjs scripts/
COPY src/storage/pglite-template.mjs src/storage/
# initdb leaves the template's directories 0700 (root's, here): readable by everyone, so that the
# user Gatehouse runs as can copy it (still writable by root only, which the copy requires).
RUN npm ci --omit=dev --no-audit --no-fund \
 && test -f node_modules/.cache/gatehouse/pglite-*-data/PG_VERSION \
 && chmod -R a+rX node_modules/.cache/gatehouse \
 && npm cache clean --force

# ---- build: the TypeScript sources emitted as JavaScript into dist/ (TypeScript is a dev package) --
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm ci --ignore-scripts --no-audit --no-fund && npm run -s build

# ---- runtime ---------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim
# The C allocator's settings of `npm start` (see docs/operations.md, Memory): glibc keeps two
# arenas instead of up to eight per core (each thread that allocates may otherwise take one of its
# own, and what it frees stays there), and gives freed memory back to the system from 128 KB on.
ENV NODE_ENV=production \
    PORT=3000 \
    GATEHOUSE_DATA_DIR=/data \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
# Everything under /app stays owned by root and read-only for the user Gatehouse runs as; the
# template is used only if no one but root (or that user) could have written it.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY templates ./templates
# /data: the embedded database (unused with DATABASE_URL). It belongs to the image's `node` user
# (1000), so a named volume mounted there starts out owned by it.
RUN mkdir -p /data && chown 1000:1000 /data && chmod 0700 /data
VOLUME ["/data"]
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 3000
# On SIGTERM Gatehouse stops its schedulers and listeners, then closes the database and exits.
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's own fetch. /healthz answers 200 once the database is open.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The same Node options as `npm start` (--heap-growing-percent is not accepted in NODE_OPTIONS).
# Were tsx ever to run the sources, it would write its transpile cache under the temporary
# directory: with a read-only root filesystem, mount a tmpfs on /tmp.
ENTRYPOINT ["node", "--heap-growing-percent=20", "--max-semi-space-size=2", "--v8-pool-size=1", "bin/gatehouse.js"]
CMD ["start"]
