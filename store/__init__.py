"""Zenyard's store: SQLAlchemy tables, queries and the use cases over them."""
