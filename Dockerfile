# tallyd: build once with the dev dependencies, run with the production ones only.
#   docker build -t tallyd .
#   docker run -e TALLYD_STATUS_TOKEN=$(openssl rand -hex 16) -p 8125:8125/udp -p 9102:9102 -p 8127:8127 tallyd
#                                  # config/docker.js: UDP in, Prometheus out, the status page
#   docker run -v $PWD/my.js:/app/config/my.js tallyd config/my.js
FROM node:20-bookworm-slim AS build
# a C toolchain for the native UDP reader (src/native, built by npm ci's install script)
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
# npm ci runs the install script (native addon) and `prepare` (the one TypeScript build)
RUN npm ci --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/native/build/Release/udp_recv.node ./src/native/build/Release/udp_recv.node
# syslog to a Unix datagram socket (log.syslog.dgram, e.g. the host's /dev/log mounted in)
COPY --from=build /app/src/native/build/Release/unix_dgram.node ./src/native/build/Release/unix_dgram.node
COPY config ./config
# StatsD over UDP (and TCP when configured), the admin interface, Prometheus /metrics, the status page and /health
EXPOSE 8125/udp 8126/tcp 8127/tcp 9102/tcp
USER node
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8127/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["config/docker.js"]
