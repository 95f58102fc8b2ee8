"""Celery tasks: thin adapters with explicit names over plain functions."""
