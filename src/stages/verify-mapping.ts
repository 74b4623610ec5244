// Stage 8: read the identity mapping back and check it says what identity-mapping wrote. When
// identity-mapping's check found it as wanted (nothing written), the read it made a moment ago is
// the read-back, handed on; after a change (or with none handed on) it reads again.
import { defineStage } from '../engine/stage.js';
import { KpoError } from '../errors.js';
import { awsAuthGrantsMore, awsAuthMappingOf, awsAuthShadowed, readAwsAuthMapping } from '../kube/aws-auth.js';
import { accessEntryGrantsMore, entryStatus, readAccessEntry, usernameConflict } from '../aws/mapping.js';
import { callAws } from '../aws/errors.js';

export const verifyMappingStage = defineStage({
  id: 'verify-mapping',
  title: 'Verify identity mapping',
  needs: ['identity-mapping'],
  // profile, region, clusterName: the cluster it reads the mapping in. (What kind of mapping and
  // for which role comes from identity-mapping's outputs.)
  inputs: ['k8sUser', 'clusterName', 'region', 'profile'],
  services: ['aws', 'kube'],

  async run(ctx) {
    const m = ctx.output('identity-mapping');
    const username = ctx.inputs.k8sUser;
    const h = ctx.handoff('verify-mapping')?.mapping;
    const handed = h && h.kind === m.kind && h.principalArn === m.principalArn ? h : undefined;
    if (m.kind === 'access-entry') {
      const eks = await ctx.aws.eks();
      const s =
        handed?.kind === 'access-entry'
          ? entryStatus(handed.read, username)
          : await callAws(`reading the access entry for ${m.principalArn}`, ctx.aws.profile, async () => entryStatus(await readAccessEntry(eks, ctx.inputs.clusterName, m.principalArn), username));
      // Changed since identity-mapping looked: the same refusal, everything at once.
      if (s.state === 'other-username') throw usernameConflict(ctx.inputs.clusterName, m.principalArn, s, username);
      if (s.state === 'absent') throw new KpoError('MAPPING_MISSING', `No access entry for ${m.principalArn} on cluster ${ctx.inputs.clusterName}.`, 'Run again with --from identity-mapping.');
      // Someone may have added groups or policies since identity-mapping looked.
      if (s.groups.length || s.policies.length) throw accessEntryGrantsMore(ctx.inputs.clusterName, m.principalArn, username, s);
      return { outputs: { kind: m.kind, username }, summary: `access entry ${m.principalArn} → user ${username}` };
    }
    const mapping = { rolearn: m.principalArn, username };
    const s = handed?.kind === 'aws-auth' ? awsAuthMappingOf(handed.configMap, mapping) : await readAwsAuthMapping(ctx.kube(), mapping);
    // Someone changed the entry since identity-mapping looked: the same refusal, everything at once.
    if (s.state === 'shadowed') throw awsAuthShadowed({ rolearn: m.principalArn, username }, s.entries);
    if (s.state !== 'present') {
      throw new KpoError(
        'MAPPING_MISSING',
        !s.configMapExists ? 'kube-system/aws-auth does not exist.' : `kube-system/aws-auth has no entry for ${m.principalArn}.`,
        'Run again with --from identity-mapping.',
      );
    }
    if (s.groups.length) throw awsAuthGrantsMore({ rolearn: m.principalArn, username }, s.groups);
    return { outputs: { kind: m.kind, username }, summary: `kube-system/aws-auth maps ${m.principalArn} → user ${username}` };
  },

  async plan(ctx) {
    const m = ctx.tryOutput('identity-mapping');
    const where = m?.kind === 'aws-auth' ? 'kube-system/aws-auth' : m?.kind === 'access-entry' ? 'the EKS access entry' : 'the mapping';
    return {
      items: [{ action: `read ${where} back and check it maps the role to ${ctx.inputs.k8sUser}` }],
      ...(m ? { outputs: { kind: m.kind, username: ctx.inputs.k8sUser } } : {}),
    };
  },
});
