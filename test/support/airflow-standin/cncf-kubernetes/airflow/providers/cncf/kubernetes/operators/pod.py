"""Stand-in KubernetesPodOperator: the arguments the real one takes that the DAGs here pass; any
other argument is refused, as Airflow refuses arguments no operator in the chain declares."""
import kubernetes.client  # noqa: F401 - the real module needs the client at import time

from airflow.models.baseoperator import BaseOperator


class KubernetesPodOperator(BaseOperator):
    def __init__(
        self,
        *,
        namespace=None,
        image=None,
        name=None,
        cmds=None,
        arguments=None,
        env_vars=None,
        labels=None,
        get_logs=True,
        on_finish_action="delete_pod",
        startup_timeout_seconds=120,
        deferrable=False,
        in_cluster=None,
        config_file=None,
        cluster_context=None,
        kubernetes_conn_id="kubernetes_default",
        service_account_name=None,
        **kwargs,
    ):
        self.namespace, self.image, self.name = namespace, image, name
        self.cmds, self.arguments, self.env_vars, self.labels = cmds, arguments, env_vars, labels
        self.get_logs, self.on_finish_action, self.deferrable = get_logs, on_finish_action, deferrable
        self.startup_timeout_seconds, self.in_cluster, self.config_file = startup_timeout_seconds, in_cluster, config_file
        # The pod's spec.serviceAccountName (build_pod_request_obj); None leaves it to the namespace's default.
        self.service_account_name = service_account_name
        super().__init__(**kwargs)
