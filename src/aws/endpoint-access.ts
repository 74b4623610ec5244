// Can an Astro Deployment reach the cluster's API server? Astro Hosted goes over the cluster's
// public endpoint unless a network connection to its VPC exists, so DescribeCluster's
// resourcesVpcConfig (read where the tool already describes the cluster; never an extra call, and
// never changed) decides what init and verify say. Pure: a Cluster in, words out.
import type { Cluster } from '@aws-sdk/client-eks';
import type { EndpointAccess } from '../types.js';

/** Where Astronomer documents the private connections (VPC peering, Transit Gateway, PrivateLink). */
export const ASTRO_PRIVATE_NETWORKING_DOC = 'https://www.astronomer.io/docs/astro/connect-aws#private-networking-connections';
/** Where Astronomer documents allowlisting a Deployment's (or a dedicated cluster's) external IPs. */
export const ASTRO_EXTERNAL_IPS_DOC = 'https://www.astronomer.io/docs/astro/connect-aws-public';
const OPEN = '0.0.0.0/0';

/** resourcesVpcConfig as DescribeCluster gave it. A field left out (moto reports none of the three)
 * stays out, and then the answer is "unknown", never "public". */
export function endpointAccessOf(cluster: Cluster): EndpointAccess {
  const c = cluster.resourcesVpcConfig;
  const fields: Omit<EndpointAccess, 'reach'> = {
    ...(typeof c?.endpointPublicAccess === 'boolean' ? { publicAccess: c.endpointPublicAccess } : {}),
    ...(typeof c?.endpointPrivateAccess === 'boolean' ? { privateAccess: c.endpointPrivateAccess } : {}),
    ...(Array.isArray(c?.publicAccessCidrs) ? { publicAccessCidrs: [...c.publicAccessCidrs] } : {}),
    ...(c?.vpcId ? { vpcId: c.vpcId } : {}),
  };
  const reach: EndpointAccess['reach'] =
    fields.publicAccess === false
      ? 'private'
      : fields.publicAccess !== true || !fields.publicAccessCidrs?.length
        ? 'unknown'
        : fields.publicAccessCidrs.includes(OPEN)
          ? 'public'
          : 'limited';
  return { reach, ...fields };
}

/** A few words for the line that already names the cluster (plan, confirmation, verify). */
export function endpointPhrase(a: EndpointAccess): string {
  switch (a.reach) {
    case 'public':
      return 'API endpoint public';
    case 'limited':
      return `API endpoint public from ${a.publicAccessCidrs!.join(', ')} only`;
    case 'private':
      return `API endpoint private only${a.vpcId ? ` (VPC ${a.vpcId})` : ''}`;
    default:
      return 'API endpoint access not reported by EKS';
  }
}

export interface ReachAdvice {
  /** One sentence: what stands between the Deployment and the API server. */
  headline: string;
  /** What to do: the Astro docs, where Astro shows the addresses, the command to run yourself. */
  lines: string[];
}

interface Where {
  clusterName: string;
  region: string;
  /** The API server's URL, when known. */
  endpoint?: string;
}

/** The update-cluster-config a user would run themselves: publicAccessCidrs REPLACES the list, so
 * the current entries come first and the Deployment's addresses are added after them. */
export function allowCidrsCommand(a: EndpointAccess, w: Where): string {
  const keep = a.reach === 'limited' ? a.publicAccessCidrs! : [];
  const cidrs = [...keep, '<EXTERNAL_IP_1>/32', '<EXTERNAL_IP_2>/32'].join(',');
  const priv = a.reach === 'private' ? 'endpointPrivateAccess=true,' : a.privateAccess !== undefined ? `endpointPrivateAccess=${a.privateAccess},` : '';
  return `aws eks update-cluster-config --name ${w.clusterName} --region ${w.region} --resources-vpc-config endpointPublicAccess=true,${priv}publicAccessCidrs=${cidrs}`;
}

const whereIps = [
  "The Deployment's external IPs are in the Astro UI: the Deployment → Details → External IPs",
  `(a dedicated cluster's, for all its Deployments: Organization Settings → Clusters → the cluster → Details → External IPs; ${ASTRO_EXTERNAL_IPS_DOC}).`,
];

/** What to tell the user; undefined when there is nothing to say (a public endpoint). */
export function reachAdvice(a: EndpointAccess, w: Where): ReachAdvice | undefined {
  const never = 'This tool never changes the endpoint settings; to do it yourself:';
  switch (a.reach) {
    case 'public':
      return undefined;
    case 'private':
      return {
        headline: `The cluster's API endpoint is private (endpointPublicAccess false): Astro Hosted reaches it only through a network connection to the cluster's VPC${a.vpcId ? ` ${a.vpcId}` : ''}, so until one exists the Deployment's tasks time out connecting to it.`,
        lines: [
          `Either connect Astro to that VPC (VPC peering, Transit Gateway or PrivateLink, on a dedicated Astro cluster): ${ASTRO_PRIVATE_NETWORKING_DOC}`,
          `or turn on public access, limited to the Deployment's external IPs. ${never}`,
          `  ${allowCidrsCommand(a, w)}`,
          ...whereIps,
        ],
      };
    case 'limited':
      return {
        headline: `The cluster's public API endpoint accepts only ${a.publicAccessCidrs!.join(', ')} (publicAccessCidrs): the Deployment's external IPs must be in that list, or its tasks time out connecting to it.`,
        lines: [
          ...whereIps,
          `Add them to the list. ${never}`,
          `  ${allowCidrsCommand(a, w)}`,
          `publicAccessCidrs replaces the whole list: keep the current entries (${a.publicAccessCidrs!.join(', ')}) in it${a.privateAccess === false ? ' (with private access off, the nodes too reach the API server through the public endpoint, from addresses that list allows)' : ''}.`,
          ...(a.privateAccess ? [`A network connection to the cluster's VPC works too: ${ASTRO_PRIVATE_NETWORKING_DOC}`] : []),
        ],
      };
    default:
      return {
        headline: `EKS did not say whether the cluster's API endpoint is public (no endpointPublicAccess or publicAccessCidrs in DescribeCluster; emulators leave them out): the Deployment must be able to reach ${w.endpoint || 'it'}.`,
        lines: [`See for yourself: aws eks describe-cluster --name ${w.clusterName} --region ${w.region} --query cluster.resourcesVpcConfig`],
      };
  }
}
