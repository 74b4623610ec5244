"""Stand-in token helper: a real EKS token (presigned STS GetCallerIdentity), as ExecCredential JSON."""
import argparse
import base64
import json
from datetime import datetime, timedelta, timezone

import boto3
from botocore.signers import RequestSigner


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cluster-name", required=True)
    p.add_argument("--region-name", required=True)
    p.add_argument("--sts-url", required=True)
    p.add_argument("--aws-conn-id")
    a = p.parse_args()
    if a.aws_conn_id:  # legacy: the helper reads the connection (and assumes its role) itself
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        session = AwsBaseHook(aws_conn_id=a.aws_conn_id, region_name=a.region_name).get_session()
    else:  # 9.13+: the credentials file the plugin sourced is in the environment
        session = boto3.session.Session(region_name=a.region_name)
    sts = session.client("sts", region_name=a.region_name)
    signer = RequestSigner(sts.meta.service_model.service_id, a.region_name, "sts", "v4", session.get_credentials(), session.events)
    url = signer.generate_presigned_url(
        {"method": "GET", "url": a.sts_url, "body": {}, "headers": {"x-k8s-aws-id": a.cluster_name}, "context": {}},
        region_name=a.region_name,
        expires_in=60,
        operation_name="",
    )
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    expires = (datetime.now(timezone.utc) + timedelta(minutes=14)).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(json.dumps({"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1", "spec": {}, "status": {"expirationTimestamp": expires, "token": token}}))


if __name__ == "__main__":
    main()
