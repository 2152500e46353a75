# The image k8s/ runs: `docker build -t registry.example.com/platform/delivery-metrics:0.1.0 .`
# Build stage: compile TypeScript and the SQLite addon (from source when no prebuilt one fits),
# then drop the dev dependencies.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# `npm ci` runs the prepare script, which builds dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
# uid 1000, as k8s/statefulset.yaml's securityContext says.
USER node
EXPOSE 2112
VOLUME ["/data"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["start"]
