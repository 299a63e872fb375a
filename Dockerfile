# syntax=docker/dockerfile:1
# The Odigos instrumentor image: builds the workspace with pnpm, then ships only the app's
# compiled code and its production dependencies on a Node 24 runtime, as a non-root user.
#
#   docker build -t odigos-instrumentor .
#   docker run --rm odigos-instrumentor --help

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-alpine AS build
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true
RUN npm install --global pnpm@10.34.8
WORKDIR /src
# Dependencies first, so this layer is reused while only sources change.
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --offline --frozen-lockfile \
  && pnpm --filter "@odigos/instrumentor..." run build \
  && pnpm --filter @odigos/instrumentor deploy --prod --legacy /out

FROM node:${NODE_VERSION}-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
COPY LICENSE ./LICENSE
# The `node` user of the official image (uid 1000); numeric, so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/main.js"]
CMD ["--leader-elect"]
