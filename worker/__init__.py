"""The Celery side: the app bound to Flask, and (later) the workload manager."""
