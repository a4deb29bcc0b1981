"""The Dagster service of this project: the environment its processes share, the supervisor of its code
server, daemon and webserver, and a GraphQL client of its webserver. The CLI (`campaign-ops dev`), the
end-to-end tests and the bench use it from here."""
