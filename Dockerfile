# mysqlda in a container: one process (`--no-daemon`: Docker restarts it, its logs go to stdout), run as the
# non-root user mysqlda (uid 10001), with the config, the save files and the pid file in the volume /etc/mysqlda.
#
#   docker build -t mysqlda .
#   docker run -d --name mysqlda --restart unless-stopped -p 13306:13306 -p 127.0.0.1:13380:13380 \
#     -v /srv/mysqlda:/etc/mysqlda mysqlda
#   docker exec mysqlda mysqlda -f /etc/mysqlda/mysqlda.conf -a status     (or -a reload; `docker stop` stops cleanly)
#
# /srv/mysqlda must hold mysqlda.conf (mode 0600, owned by uid 10001, which also writes the save files there) with
#   "server": { "listen_ip": "0.0.0.0", ... }     so that the published SQL port reaches it, and
#   "admin":  { "http": "0.0.0.0:13380" }         for the HEALTHCHECK below and for scraping /metrics.
# The admin port has no authentication (it serves /metrics, /status and reload): the run line above publishes it
# on the host's loopback only; scrape it from the host, or put an authenticating proxy in front of it.
# The healthcheck itself asks 127.0.0.1:13380/healthz inside the container; without the admin listener the
# container stays "unhealthy" (set MYSQLDA_HEALTHCHECK_URL if the admin port differs).

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only, without install scripts (`prepare` would build). npm 10.8 can stop half-way
# ("Exit handler never called!") and still exit 0: `npm ls` exits 1 when a dependency is missing or invalid, so an
# incomplete node_modules fails the build here rather than the container at run time.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm ls --omit=dev --all >/dev/null

# The compiled program.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm ls --all >/dev/null
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    MYSQLDA_HEALTHCHECK_URL=http://127.0.0.1:13380/healthz
WORKDIR /app
RUN groupadd --system --gid 10001 mysqlda \
 && useradd --system --uid 10001 --gid mysqlda --home-dir /etc/mysqlda --no-create-home --shell /usr/sbin/nologin mysqlda \
 && install -d -o mysqlda -g mysqlda -m 0750 /etc/mysqlda
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN ln -s /app/bin/mysqlda /usr/local/bin/mysqlda
VOLUME /etc/mysqlda
USER mysqlda
EXPOSE 13306 13380
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('http').get(process.env.MYSQLDA_HEALTHCHECK_URL, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
# SIGTERM: stop accepting, let statements in flight and open transactions finish (server.drain_timeout_s, 30 s by
# default), close the sessions, flush the save files. docker stop kills after 10 s unless given -t / stop_grace_period:
# give it the drain timeout plus a few seconds, or set server.drain_timeout_s below the grace period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/mysqlda"]
CMD ["-f", "/etc/mysqlda/mysqlda.conf", "-a", "start", "--no-daemon"]
