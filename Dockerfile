# tallyd: build with the dev dependencies, run with the production ones only.
FROM node:20-bookworm-slim AS build
# a C toolchain for the native UDP reader (src/native, built by npm ci's install script)
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bench ./bench
COPY test ./test
COPY vitest.config.ts ./
RUN npm ci --no-audit --no-fund && npm run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY --from=build /app/src/native/build/Release/udp_recv.node ./src/native/build/Release/udp_recv.node
COPY config ./config
# StatsD over UDP (and TCP when configured), the admin interface, Prometheus /metrics
EXPOSE 8125/udp 8126/tcp 9102/tcp
USER node
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["config/default.js"]
