"""Stand-in BaseHook: connections come from AIRFLOW_CONN_<ID> in Airflow's JSON form."""
import json
import os

from airflow.exceptions import AirflowNotFoundException


class Connection:
    def __init__(self, conn_id, conn_type=None, extra=None, **_fields):
        self.conn_id, self.conn_type = conn_id, conn_type
        self.extra_dejson = extra if isinstance(extra, dict) else json.loads(extra or "{}")


class BaseHook:
    @classmethod
    def get_connection(cls, conn_id):
        raw = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
        if raw is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        return Connection(conn_id, **json.loads(raw))
