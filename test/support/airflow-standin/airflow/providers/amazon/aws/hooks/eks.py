"""Stand-in EksHook.generate_config_file in the provider's two shapes (see ../../../../../README.md)."""
import contextlib
import json
import os
import shlex
import sys
import tempfile

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

_API = "client.authentication.k8s.io/v1"
_HELPER = "airflow.providers.amazon.aws.utils.eks_get_token"


class _EksHookBase(AwsBaseHook):
    def __init__(self, *args, **kwargs):
        kwargs["client_type"] = "eks"
        super().__init__(*args, **kwargs)

    def _kubeconfig(self, eks_cluster_name, pod_namespace, exec_args):
        cluster = self.conn.describe_cluster(name=eks_cluster_name)["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": eks_cluster_name, "cluster": {"server": cluster["endpoint"], "certificate-authority-data": cluster["certificateAuthority"]["data"]}}],
            "contexts": [{"name": "aws", "context": {"cluster": eks_cluster_name, "namespace": pod_namespace, "user": "aws"}}],
            "current-context": "aws",
            "users": [{"name": "aws", "user": {"exec": {"apiVersion": _API, "interactiveMode": "Never", **exec_args}}}],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".kubeconfig") as f:
            json.dump(config, f)  # JSON is YAML
            f.flush()
            yield f.name

    def _helper_args(self, eks_cluster_name):
        python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        args = [python, "-m", _HELPER, "--cluster-name", eks_cluster_name, "--region-name", self.region_name]
        sts = self.endpoint_url or f"https://sts.{self.region_name}.amazonaws.com"
        return args + ["--sts-url", f"{sts}/?Action=GetCallerIdentity&Version=2011-06-15"]


class _CredentialsFileEksHook(_EksHookBase):
    """Provider 9.13+: EksPodOperator writes the session's keys to a file the plugin sources."""

    @contextlib.contextmanager
    def _secure_credential_context(self, access_key, secret_key, session_token):
        fd, path = tempfile.mkstemp(prefix="standin_eks_", suffix=".aws_creds")
        with os.fdopen(fd, "w") as f:
            f.write(f"export AWS_ACCESS_KEY_ID={shlex.quote(access_key)}\n")
            f.write(f"export AWS_SECRET_ACCESS_KEY={shlex.quote(secret_key)}\n")
            if session_token:
                f.write(f"export AWS_SESSION_TOKEN={shlex.quote(session_token)}\n")
        try:
            yield path
        finally:
            os.unlink(path)

    @contextlib.contextmanager
    def generate_config_file(self, eks_cluster_name, pod_namespace, credentials_file):
        command = f". {shlex.quote(credentials_file)} && exec {shlex.join(self._helper_args(eks_cluster_name))}"
        yield from self._kubeconfig(eks_cluster_name, pod_namespace, {"command": "sh", "args": ["-c", command]})


class _LegacyEksHook(_EksHookBase):
    """Before 9.13: the plugin is given the connection id and assumes its role itself."""

    @contextlib.contextmanager
    def generate_config_file(self, eks_cluster_name, pod_namespace):
        args = self._helper_args(eks_cluster_name) + ["--aws-conn-id", self.aws_conn_id]
        yield from self._kubeconfig(eks_cluster_name, pod_namespace, {"command": args[0], "args": args[1:]})


EksHook = _LegacyEksHook if os.environ.get("STANDIN_EKS_API") == "legacy" else _CredentialsFileEksHook
