"""Stand-in for the airflow package (tests only): see ../../README.md."""
import os

# As in real Airflow: providers installed as separate distributions (here: separate PYTHONPATH
# roots, ../../amazon and ../../cncf-kubernetes) join this package's namespace.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)

__version__ = os.environ.get("STANDIN_AIRFLOW_VERSION", "2.10.5")
