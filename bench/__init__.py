"""Performance figures for Zenyard (`make bench`).

`bench.server` starts Zenyard as production runs it (gunicorn, gthread
workers) on a fresh data directory, `bench.load` drives it from several
client processes, and `bench.scenarios` names what is measured. `bench.run`
is the command line: it prints one JSON document to stdout.
"""
