# The verite service of docker-compose.yml: `verite schedule` in the foreground.
# The warehouse is the PostgreSQL named by DATABASE_URL; the embedded server is not used here.
# Node 24, a long-term-support line with security fixes until 2028-04-30 (Node 20's ended on
# 2026-04-30; docs/sources/node.md). The suite passes on Node 20, 22, 24 and 26.
FROM node:24-slim

ENV NODE_ENV=production \
    VERITE_LOG_FORMAT=json
WORKDIR /app

# Dependencies first, so a code change does not reinstall them. tsx is a runtime dependency:
# verite runs its TypeScript directly, with no build step. Install scripts are not needed
# (the embedded PostgreSQL they would prepare is not used in the container).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

COPY . .
# The one folder verite writes in: the default reportsDir, where `verite schedule` writes the
# scheduled reports (docker-compose.yml mounts its `reports` volume here, which takes this owner).
RUN mkdir -p .verite/reports && chown -R node:node .verite
USER node

# SIGTERM (docker stop) lets the page being landed commit, then verite exits 0.
ENTRYPOINT ["node", "bin/verite.js"]
CMD ["schedule"]
