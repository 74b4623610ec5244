"""Stand-in for the airflow package (tests only): see ../README.md."""
import os

__version__ = os.environ.get("STANDIN_AIRFLOW_VERSION", "2.10.5")
