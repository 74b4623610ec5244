"""Stand-in KubernetesHook: an API client from a kubeconfig file, as KubernetesPodOperator gets one."""
from kubernetes import config as k8s_config


class KubernetesHook:
    def __init__(self, conn_id=None, client_configuration=None, cluster_context=None, config_file=None, in_cluster=None, **_kwargs):
        self.config_file, self.cluster_context = config_file, cluster_context

    @property
    def api_client(self):
        return k8s_config.new_client_from_config(config_file=self.config_file, context=self.cluster_context)
