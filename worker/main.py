"""Entry point of `celery -A worker.main worker`: one Flask app, its Celery."""

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
