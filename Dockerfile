# tallyd: build with the dev dependencies, run with the production ones only.
FROM node:20-bookworm-slim AS build
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
COPY config ./config
# StatsD over UDP (and TCP when configured), the admin interface, Prometheus /metrics
EXPOSE 8125/udp 8126/tcp 9102/tcp
USER node
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["config/default.js"]
