"""The web layer: REST API, server-rendered pages and live updates over Server-Sent Events."""
