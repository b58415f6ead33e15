# tally: one image for the API, the consumer and the operators' commands (compose.yaml picks the command).

# Build: dev dependencies (TypeScript) compile to dist/, which also gets the migrations and *.lua (scripts/copy-assets.mjs).
FROM node:22-bookworm-slim AS build
WORKDIR /app
# The lockfile alone first: the npm ci layer stays cached until dependencies change. patches/ goes with it:
# npm ci's postinstall applies them (patch-package) and fails the build if one no longer applies.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: production dependencies and the compiled output only; no compiler, no sources, no tests. dist/ holds
# server/, consumer/, shared/, the operators' commands in cli/, the audit they run and the Django import
# (tsconfig.build.json): npm start's launcher/ and bench/ (autocannon, a devDependency) are never built.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Root-owned files, a non-root process: the app cannot rewrite its own code or dependencies.
USER node
# 8003: the API. 9464: its metrics (METRICS_PORT), on loopback unless METRICS_HOST says otherwise (compose sets 0.0.0.0).
EXPOSE 8003 9464
CMD ["node", "dist/server/main.js"]
