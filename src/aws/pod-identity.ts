// EKS Pod Identity on the EKS API: is the agent there (the eks-pod-identity-agent add-on, or an EKS
// Auto Mode cluster, whose nodes run it without the add-on), and the association of the pods'
// ServiceAccount with their role. ListPodIdentityAssociations' summaries carry no roleArn, so the
// one association a namespace + ServiceAccount can have is described after it is found. Only SDK
// types are imported at the top; the client module loads on first use.
import type { EKSClient, PodIdentityAssociation } from '@aws-sdk/client-eks';
import { creationTags } from '../desired.js';
import { sdk as awsSdk } from './clients.js';
import { awsErrorCode, unlessNotFound } from './errors.js';
import { allItems } from './pages.js';
import { POD_IDENTITY_AGENT } from './pod-trust.js';

const eksSdk = awsSdk.eks;

/** Add-on states in which the agent runs, or soon will (a cluster eksctl just made). */
const AGENT_USABLE = new Set(['ACTIVE', 'CREATING', 'UPDATING', 'DEGRADED']);

export interface AgentPresence {
  present: boolean;
  /** In words, for the stage's reason and the refusal. */
  why: string;
}

/** Whether pods of the cluster can get EKS Pod Identity credentials. */
export async function podIdentityAgent(eks: EKSClient, clusterName: string, autoMode: boolean | undefined): Promise<AgentPresence> {
  if (autoMode) return { present: true, why: `cluster ${clusterName} is an EKS Auto Mode cluster (its nodes run the Pod Identity agent)` };
  const { DescribeAddonCommand } = await eksSdk();
  // Described by name: EKS answers ResourceNotFoundException when the cluster has no such add-on,
  // so no list is needed (one call, one permission).
  const addon = (await unlessNotFound(eks.send(new DescribeAddonCommand({ clusterName, addonName: POD_IDENTITY_AGENT }))))?.addon;
  if (!addon) return { present: false, why: `cluster ${clusterName} has no ${POD_IDENTITY_AGENT} add-on` };
  const status = addon?.status ?? 'gone';
  return AGENT_USABLE.has(status)
    ? { present: true, why: `cluster ${clusterName} has the ${POD_IDENTITY_AGENT} add-on (${status})` }
    : { present: false, why: `the ${POD_IDENTITY_AGENT} add-on of cluster ${clusterName} is ${status}` };
}

/** The association of namespace/serviceAccount, described (with its roleArn and tags), if any. */
export async function findAssociation(eks: EKSClient, clusterName: string, namespace: string, serviceAccount: string): Promise<PodIdentityAssociation | undefined> {
  const { paginateListPodIdentityAssociations, DescribePodIdentityAssociationCommand } = await eksSdk();
  const pages = paginateListPodIdentityAssociations({ client: eks }, { clusterName, namespace, serviceAccount });
  const found = await allItems(`eks:ListPodIdentityAssociations on EKS cluster ${clusterName}`, pages, (p) => p.associations, (p) => p.nextToken);
  // The filters are the API's; an endpoint that ignored them must not hand us another's.
  const mine = found.find((a) => a.namespace === namespace && a.serviceAccount === serviceAccount);
  if (!mine?.associationId) return undefined;
  return (await unlessNotFound(eks.send(new DescribePodIdentityAssociationCommand({ clusterName, associationId: mine.associationId }))))?.association;
}

/** CreatePodIdentityAssociation with our creation tags; undefined when one exists already for the
 * namespace and ServiceAccount (409 ResourceInUse: created meanwhile by someone else). */
export async function createAssociation(
  eks: EKSClient,
  o: { clusterName: string; namespace: string; serviceAccount: string; roleArn: string; projectId: string | undefined; workloadIdentities: readonly string[] },
): Promise<PodIdentityAssociation | undefined> {
  const { CreatePodIdentityAssociationCommand } = await eksSdk();
  try {
    const r = await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: o.clusterName,
        namespace: o.namespace,
        serviceAccount: o.serviceAccount,
        roleArn: o.roleArn,
        tags: creationTags(o.projectId, o.workloadIdentities),
      }),
    );
    return r.association;
  } catch (err) {
    if (awsErrorCode(err) === 'ResourceInUse') return undefined;
    throw err;
  }
}

/** Points an association this project created at the role (namespace and ServiceAccount are fixed). */
export async function updateAssociationRole(eks: EKSClient, clusterName: string, associationId: string, roleArn: string): Promise<PodIdentityAssociation | undefined> {
  const { UpdatePodIdentityAssociationCommand } = await eksSdk();
  return (await eks.send(new UpdatePodIdentityAssociationCommand({ clusterName, associationId, roleArn }))).association;
}

/** Gone already is fine. */
export async function deleteAssociation(eks: EKSClient, clusterName: string, associationId: string): Promise<void> {
  const { DeletePodIdentityAssociationCommand } = await eksSdk();
  await unlessNotFound(eks.send(new DeletePodIdentityAssociationCommand({ clusterName, associationId })));
}
