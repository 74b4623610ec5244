# Each provider distribution adds its own airflow/providers/<name>; present only when its root is
# on PYTHONPATH, so a test can leave one out and get the real ModuleNotFoundError.
__path__ = __import__("pkgutil").extend_path(__path__, __name__)
