# mysqlda in a container: build the TypeScript, then run it as a non-root user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
RUN useradd --system --home /var/lib/mysqlda --create-home mysqlda
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The config and the save files (mysqlda.save, mysqlda.<class>.save) live in this volume.
VOLUME /etc/mysqlda
USER mysqlda
EXPOSE 13306
ENTRYPOINT ["node", "/app/bin/mysqlda"]
CMD ["-f", "/etc/mysqlda/mysqlda.conf", "-a", "start", "--no-daemon"]
