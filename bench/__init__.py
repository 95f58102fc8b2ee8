"""Performance figures for Zenyard (`make bench`).

`bench.server` starts Zenyard as production runs it (gunicorn, gthread
workers) on a fresh data directory and database (`bench.database`: SQLite,
or a throwaway PostgreSQL database), `bench.load` drives it from several
client processes, and `bench.scenarios` names what is measured. The runs
bench: `bench.seed` bulk-inserts 10,000 runs before the server starts, and
`bench.runs` measures hydrated reads alone and runs recorded by the stock
zenml==0.66.0 client (`bench/zenml_client.py`, run in that client's venv).
`bench.run` is the command line: it prints one JSON document to stdout.
docs/bench.md explains the figures.
"""
