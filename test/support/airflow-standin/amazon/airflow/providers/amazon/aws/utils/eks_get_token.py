"""Stand-in token helper: a real EKS token (presigned STS GetCallerIdentity), printed the way the
provider's helper prints it: one line `expirationTimestamp: <time>, token: <token>` on stdout.

With --aws-conn-id (providers before 9.13) it reads the connection and assumes its role itself;
on Airflow 3 that lookup finds no connection stored in the metadata DB (see airflow/hooks/base.py)
and the hook falls back to the ambient identity, logging a warning on stderr. Otherwise (9.13+)
the credentials are the ones the exec plugin's script sourced into the environment.

STANDIN_TOKEN_HELPER_STDERR: a line this helper writes to stderr after its token line (a warning
at interpreter exit, say), to show what each version's exec command does with the helper's stderr.
"""
import argparse
import base64
import sys
from datetime import datetime, timedelta, timezone
import os

import boto3
from botocore.signers import RequestSigner


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cluster-name", required=True)
    p.add_argument("--region-name")
    p.add_argument("--sts-url")
    p.add_argument("--aws-conn-id")
    a = p.parse_args()
    if a.aws_conn_id:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        hook = AwsBaseHook(aws_conn_id=a.aws_conn_id, region_name=a.region_name)
        session = hook.get_session()
        sts_base = hook.endpoint_url or f"https://sts.{a.region_name}.amazonaws.com"
        sts_url = f"{sts_base}/?Action=GetCallerIdentity&Version=2011-06-15"
    else:
        session = boto3.session.Session(region_name=a.region_name)
        sts_url = a.sts_url
    sts = session.client("sts", region_name=a.region_name)
    signer = RequestSigner(sts.meta.service_model.service_id, a.region_name, "sts", "v4", session.get_credentials(), session.events)
    url = signer.generate_presigned_url(
        {"method": "GET", "url": sts_url, "body": {}, "headers": {"x-k8s-aws-id": a.cluster_name}, "context": {}},
        region_name=a.region_name,
        expires_in=60,
        operation_name="",
    )
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    expires = (datetime.now(timezone.utc) + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"expirationTimestamp: {expires}, token: {token}", flush=True)
    after = os.environ.get("STANDIN_TOKEN_HELPER_STDERR")
    if after:
        print(after, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
