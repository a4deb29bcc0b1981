"""SOP Level 3, "stop processing immediately": the pause (core.py, in the application database) and its Dagster
side (defs.py)."""
