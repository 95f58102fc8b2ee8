"""The `zenyard` command line."""
