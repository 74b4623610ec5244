// verify row: the identity mapping. Which kind the cluster honours follows --auth-mode and the
// cluster's authentication mode (the identity-mapping stage's own rule); then: it exists, it maps
// to --k8s-user, nothing shadows it, and its ARN carries no IAM path.
import { initCommandLine } from '../resume-command.js';
import { roleArnWithoutPath } from '../desired.js';
import { fail, failFromError, failWith, pass, skip, type CheckRow } from './row.js';
import type { VerifyContext } from './context.js';
import { AWS_AUTH, awsAuthGrantsMore, awsAuthShadowed, findMapping, parseMapRoles } from '../kube/aws-auth.js';
import { accessEntryGrantsMore, entryStatus, policiesUnknownWarning, readAccessEntry, resolveMappingKind, usernameConflict } from '../aws/mapping.js';
import { describeAccessEntry } from '../aws/eks.js';
import { callAws } from '../aws/errors.js';

function restore(vc: VerifyContext): string {
  return `${initCommandLine(vc.ctx.inputs)} --from identity-mapping`;
}

async function accessEntryRow(vc: VerifyContext, roleArn: string, principal: string): Promise<CheckRow> {
  const { clusterName, k8sUser } = vc.ctx.inputs;
  const eks = await vc.ctx.aws.eks();
  const read = (arn: string) => callAws(`reading the access entry for ${arn}`, vc.ctx.aws.profile, () => describeAccessEntry(eks, clusterName, arn));
  // The entry and its access policies, asked together (one round trip), as init's stage reads them.
  const r = await callAws(`reading the access entry for ${principal}`, vc.ctx.aws.profile, () => readAccessEntry(eks, clusterName, principal));
  if (r.entry) {
    const s = entryStatus(r, k8sUser);
    if (s.state === 'present') {
      const { groups, policies } = s;
      vc.mappingGroups = groups;
      const data = { kind: 'access-entry', groups, policies };
      if (groups.length || policies.length) {
        const e = accessEntryGrantsMore(clusterName, principal, k8sUser, { groups, policies });
        return failWith('mapping', e, { data });
      }
      if (s.policiesUnknown) {
        return pass('mapping', `EKS access entry ${principal} → user ${k8sUser} (no groups; access policies not known)`, { data, notes: [policiesUnknownWarning(principal, k8sUser, s.policiesUnknown)] });
      }
      return pass('mapping', `EKS access entry ${principal} → user ${k8sUser} (no groups, no access policies)`, { data });
    }
    // init's own refusal: the username and whatever the entry grants, with every step of the fix.
    if (s.state === 'other-username') {
      const e = usernameConflict(clusterName, principal, s, k8sUser);
      return failWith('mapping', e, { data: { kind: 'access-entry', username: s.username, groups: s.groups, policies: s.policies } });
    }
  }
  if (principal !== roleArn && (await read(roleArn))) {
    return fail(
      'mapping',
      `the EKS access entry names ${roleArn}, with its IAM path; EKS matches the assumed role without the path (${principal})`,
      `Delete it (aws eks delete-access-entry --cluster-name ${clusterName} --principal-arn ${roleArn}) and run: ${restore(vc)}`,
      { data: { kind: 'access-entry' } },
    );
  }
  return fail('mapping', `no EKS access entry for ${principal} on cluster ${clusterName}`, `Create it: ${restore(vc)}`, { data: { kind: 'access-entry' } });
}

async function awsAuthRow(vc: VerifyContext, roleArn: string, principal: string): Promise<CheckRow> {
  const { clusterName, k8sUser } = vc.ctx.inputs;
  const kube = vc.kube;
  if (!kube) throw new Error('internal: no Kubernetes API for the aws-auth check');
  const cm = await kube.readConfigMap(AWS_AUTH.namespace, AWS_AUTH.name);
  const data = { kind: 'aws-auth' };
  if (!cm) return fail('mapping', 'kube-system/aws-auth does not exist', `Create the mapping: ${restore(vc)}`, { data });
  const entries = parseMapRoles(cm.data?.mapRoles);
  const want = { rolearn: principal, username: k8sUser };
  const found = findMapping(entries, want);
  if (found.state === 'shadowed') {
    // init's own refusal: every entry for the role with its username and groups, and the fix.
    const e = awsAuthShadowed(want, found.entries);
    return failWith('mapping', e, { data: { ...data, entries: found.entries } });
  }
  if (found.state === 'absent') {
    if (principal !== roleArn && findMapping(entries, { rolearn: roleArn, username: k8sUser }).state !== 'absent') {
      return fail(
        'mapping',
        `kube-system/aws-auth maps ${roleArn} with its IAM path; the authenticator matches the assumed role without the path (${principal})`,
        `Change rolearn to ${principal} in kube-system/aws-auth, or remove that entry and run: ${restore(vc)}`,
        { data },
      );
    }
    return fail('mapping', `kube-system/aws-auth has no entry for ${principal}`, `Add it (every other entry is kept): ${restore(vc)}`, { data });
  }
  vc.mappingGroups = found.groups;
  if (found.groups.length) {
    const e = awsAuthGrantsMore(want, found.groups);
    return failWith('mapping', e, { data: { ...data, groups: found.groups } });
  }
  // In API_AND_CONFIG_MAP an access entry for the same principal wins over aws-auth.
  if (vc.clusterOut?.authenticationMode === 'API_AND_CONFIG_MAP') {
    const eks = await vc.ctx.aws.eks();
    const entry = await callAws(`reading the access entry for ${principal}`, vc.ctx.aws.profile, () => describeAccessEntry(eks, clusterName, principal));
    if (entry && entry.username !== k8sUser) {
      return fail(
        'mapping',
        `kube-system/aws-auth maps ${principal} to ${k8sUser}, but an EKS access entry for it (user ${JSON.stringify(entry.username ?? '(none)')}) takes precedence and shadows it`,
        `Delete the access entry (aws eks delete-access-entry --cluster-name ${clusterName} --principal-arn ${principal}) or use --auth-mode access-entry --k8s-user ${entry.username ?? '<that user>'}.`,
        { data },
      );
    }
  }
  return pass('mapping', `kube-system/aws-auth maps ${principal} → user ${k8sUser}`, { data });
}

export async function checkMapping(vc: VerifyContext): Promise<CheckRow> {
  const { inputs } = vc.ctx;
  const roleArn = vc.roleArn;
  const mode = vc.clusterOut?.authenticationMode;
  if (!roleArn || !mode) return fail('mapping', 'internal: role ARN or cluster unknown', 'Run verify again.');
  try {
    const kind = resolveMappingKind(inputs.authMode, mode, inputs.clusterName);
    const principal = roleArnWithoutPath(roleArn);
    if (kind === 'aws-auth' && !vc.kube) return skip('mapping', 'kube-api', 'kube-system/aws-auth cannot be read without the Kubernetes API');
    return kind === 'access-entry' ? await accessEntryRow(vc, roleArn, principal) : await awsAuthRow(vc, roleArn, principal);
  } catch (err) {
    return failFromError('mapping', err, `Check the mapping by hand, then run: ${restore(vc)}`);
  }
}
