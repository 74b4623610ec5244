"""Stand-in BaseHook.get_connection, with Airflow's two places a Deployment's connection can be:

- AIRFLOW_CONN_<ID> (Airflow's JSON form): an environment variable, readable by every process.
- The metadata DB, where `astro deployment connection create` puts it: STANDIN_METADATA_DB, a JSON
  file {conn_id: {"conn_type": ..., "extra": {...}}} standing for the connections table. On
  Airflow 2 every process reaches it. On Airflow 3 (STANDIN_AIRFLOW_SDK=1) only a task's own
  process does, through the Task SDK's channel to the API server (run_dag.py opens it); any other
  process, like the token helper an exec plugin starts, finds nothing there (apache/airflow#53578).
"""
import json
import os

from airflow.exceptions import AirflowNotFoundException

# Set by run_dag.py in the process that runs the tasks (the Task SDK's supervisor channel). A
# subprocess starts without it, as a real one starts without the supervisor's comms.
TASK_SDK_CHANNEL = {"open": False}


class Connection:
    def __init__(self, conn_id, conn_type=None, extra=None, **_fields):
        self.conn_id, self.conn_type = conn_id, conn_type
        self.extra_dejson = extra if isinstance(extra, dict) else json.loads(extra or "{}")


def _metadata_db():
    path = os.environ.get("STANDIN_METADATA_DB")
    if not path:
        return {}
    if os.environ.get("STANDIN_AIRFLOW_SDK") == "1" and not TASK_SDK_CHANNEL["open"]:
        return {}  # Airflow 3: no database access outside a task's Task SDK channel
    with open(path) as f:
        return json.load(f)


class BaseHook:
    @classmethod
    def get_connection(cls, conn_id):
        raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if raw is not None:
            return Connection(conn_id, **json.loads(raw))
        stored = _metadata_db().get(conn_id)
        if stored is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        return Connection(conn_id, **stored)
