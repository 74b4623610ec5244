"""Stand-in EksHook.generate_config_file in the shape each Amazon provider version builds it (see
../../../../../../README.md). The kubeconfig's exec plugin is `sh -c <script>`; the script runs the
token helper, reads `expirationTimestamp: ..., token: ...` from its output with the same shell
parameter expansions as the provider, and prints the ExecCredential. What differs by version:

- before 9.13: no credentials file; the helper gets --aws-conn-id and reads the connection itself.
- 9.13 to 9.29: the session's keys in a file the script sources; the helper's stderr is merged
  into the output the token is read from (`2>&1`), the cause of apache/airflow#64657.
- 9.30 and later (apache/airflow#65335): stderr is kept out of that output, and an output without
  a token fails the plugin instead of sending an empty one.
"""
import contextlib
import json
import os
import shlex
import sys
import tempfile

from airflow.providers.amazon import __version__ as PROVIDER_VERSION
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

_API = "client.authentication.k8s.io/v1"
_HELPER = "airflow.providers.amazon.aws.utils.eks_get_token"


def _version(v):
    return tuple(int(p) for p in v.split(".")[:3])


CREDENTIALS_FILE = _version(PROVIDER_VERSION) >= (9, 13)
STDERR_KEPT_OUT = _version(PROVIDER_VERSION) >= (9, 30)

# Reading the helper's last output line. `$'\n'` is bash's newline; under dash (Debian's sh, the
# `sh` of the Astro Runtime images) it is not, so the whole output stays the "last line" there.
_PARSE = r"""
last_line=${output##*$'\n'}
timestamp=${last_line#expirationTimestamp: }
timestamp=${timestamp%%,*}
token=${last_line##*, token: }
"""
_EMIT = (
    """json_string=$(printf '{"kind": "ExecCredential","apiVersion": "%s","spec": {},"status": {"expirationTimestamp": "%%s","token": "%%s"}}' "$timestamp" "$token")\n"""
    % _API
) + "echo $json_string\n"


def _script(source_credentials, helper_args):
    helper = " ".join(shlex.quote(a) for a in helper_args)
    redirect = "2>/dev/null" if STDERR_KEPT_OUT else "2>&1"
    lines = ["export PYTHON_OPERATORS_VIRTUAL_ENV_MODE=1"]
    if source_credentials:
        lines.append(f". {source_credentials}")
    lines.append(f"output=$({helper} {redirect})")
    lines.append("status=$?")
    if source_credentials:
        lines.append("unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN")
    if STDERR_KEPT_OUT:
        lines.append('if [ "$status" -ne 0 ]; then echo "eks_get_token exited with $status" >&2; exit "$status"; fi')
    else:
        lines.append('if [ "$status" -ne 0 ]; then printf \'%s\' "$output" >&2; exit "$status"; fi')
    script = "\n".join(lines) + _PARSE
    if STDERR_KEPT_OUT:
        script += 'if [ -z "$token" ] || [ "$token" = "$last_line" ]; then echo "no token in the output of eks_get_token" >&2; exit 1; fi\n'
    return script + _EMIT


class EksHook(AwsBaseHook):
    def __init__(self, *args, **kwargs):
        kwargs["client_type"] = "eks"
        super().__init__(*args, **kwargs)

    def _kubeconfig(self, eks_cluster_name, pod_namespace, script):
        cluster = self.conn.describe_cluster(name=eks_cluster_name)["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": eks_cluster_name, "cluster": {"server": cluster["endpoint"], "certificate-authority-data": cluster["certificateAuthority"]["data"]}}],
            "contexts": [{"name": "aws", "context": {"cluster": eks_cluster_name, "namespace": pod_namespace, "user": "aws"}}],
            "current-context": "aws",
            "users": [{"name": "aws", "user": {"exec": {"apiVersion": _API, "command": "sh", "args": ["-c", script], "interactiveMode": "Never"}}}],
        }
        with tempfile.NamedTemporaryFile("w", suffix=".kubeconfig") as f:
            json.dump(config, f)  # JSON is YAML
            f.flush()
            yield f.name

    def _helper_args(self, eks_cluster_name, with_sts_url):
        # The provider runs the helper with the worker's own Python: python<major>.<minor>.
        args = [f"python{sys.version_info[0]}.{sys.version_info[1]}", "-m", _HELPER, "--cluster-name", eks_cluster_name]
        if with_sts_url:
            sts = self.endpoint_url or f"https://sts.{self.region_name}.amazonaws.com"
            args += ["--sts-url", f"{sts}/?Action=GetCallerIdentity&Version=2011-06-15"]
        return args + ["--region-name", self.region_name]

    if CREDENTIALS_FILE:

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
            script = _script(shlex.quote(credentials_file), self._helper_args(eks_cluster_name, True))
            yield from self._kubeconfig(eks_cluster_name, pod_namespace, script)

    else:

        @contextlib.contextmanager
        def generate_config_file(self, eks_cluster_name, pod_namespace):
            script = _script(None, self._helper_args(eks_cluster_name, False) + ["--aws-conn-id", self.aws_conn_id])
            yield from self._kubeconfig(eks_cluster_name, pod_namespace, script)
