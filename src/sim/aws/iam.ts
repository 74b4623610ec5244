// Fake IAM: roles with trust policies, inline and attached managed policies and tags, answering
// the query protocol with IAM's real element names, error codes and URL-encoded policy documents.
import { evaluate, managedPolicy, parsePolicy, principals, type NamedPolicy } from './policy.js';
import { randomId, type Principal } from './identity.js';
import { addTags, parseTags, removeTags, validation, type Tag } from './iam-common.js';
import { OidcProviders } from './iam-oidc.js';
import { iamPage } from './paging.js';
import { AwsError, IAM_NS, memberList, queryResponse, required, type Params, type Reply, type XmlNode } from './xml.js';

export type { Tag } from './iam-common.js';

export interface FakeRole {
  name: string;
  path: string;
  arn: string;
  roleId: string;
  createDate: Date;
  /** The trust policy exactly as sent (IAM returns it as sent, URL-encoded). */
  trustPolicyRaw: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tag[];
  /** Inline policies: name → document as sent. */
  inline: Map<string, string>;
  /** Attached managed policy ARNs. */
  attached: string[];
}

const NAME_RE = /^[\w+=,.@-]{1,64}$/;
const PATH_RE = /^\/([\x21-\x7e]*\/)?$/;

export class FakeIam {
  readonly roles = new Map<string, FakeRole>();
  /** Principal ARN → how many more times IAM calls it invalid (IAM's eventual consistency). */
  readonly invalidPrincipals = new Map<string, number>();
  /** Items per page of ListRoles / ListRolePolicies / ListAttachedRolePolicies without MaxItems (IAM: 100). */
  pageSize = 100;
  /** The account's IAM OIDC identity providers (IRSA). */
  readonly oidc: OidcProviders;

  constructor(readonly accountId: string) {
    this.oidc = new OidcProviders(accountId);
  }

  role(name: string): FakeRole | undefined {
    return this.roles.get(name);
  }

  /** Looks a role up by ARN, ignoring the path (as trust and auth matching do). */
  roleByArn(arn: string): FakeRole | undefined {
    const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(arn);
    if (!m || m[1] !== this.accountId) return undefined;
    return this.roles.get(m[2]!);
  }

  /** Creates a role directly (test setup). */
  createRole(opts: { name: string; path?: string; trustPolicy: object | string; description?: string; tags?: Tag[] }): FakeRole {
    const path = opts.path ?? '/';
    const role: FakeRole = {
      name: opts.name,
      path,
      arn: `arn:aws:iam::${this.accountId}:role${path}${opts.name}`,
      roleId: randomId('AROA'),
      createDate: new Date(),
      trustPolicyRaw: typeof opts.trustPolicy === 'string' ? opts.trustPolicy : JSON.stringify(opts.trustPolicy),
      description: opts.description,
      maxSessionDuration: 3600,
      tags: [...(opts.tags ?? [])],
      inline: new Map(),
      attached: [],
    };
    this.roles.set(role.name, role);
    return role;
  }

  /** The role's permission policies, for the simulator and the kube authenticator's checks. */
  policiesOf(role: FakeRole): NamedPolicy[] {
    const out: NamedPolicy[] = [];
    for (const [name, raw] of role.inline) out.push({ id: name, type: 'role', doc: parsePolicy(raw, 'identity') });
    for (const arn of role.attached) {
      const m = managedPolicy(arn);
      if (m) out.push({ id: m.name, type: 'IAM Policy', doc: m.doc });
    }
    return out;
  }

  private mustRole(name: string): FakeRole {
    const role = this.roles.get(name);
    if (!role) throw new AwsError(404, 'NoSuchEntity', `The role with name ${name} cannot be found.`);
    return role;
  }

  private checkTrust(raw: string): void {
    if (raw.replace(/\s/g, '').length > 2048) throw new AwsError(409, 'LimitExceeded', 'Cannot exceed quota for ACLSizePerRole: 2048');
    const doc = parsePolicy(raw, 'trust');
    for (const s of doc.Statement) {
      for (const p of principals(s.Principal)) {
        const left = this.invalidPrincipals.get(p.value);
        // IAM resolves an identity provider named as a principal: one that does not exist (yet) is invalid.
        const missingProvider = p.type === 'Federated' && /:oidc-provider\//.test(p.value) && !this.oidc.get(p.value);
        if ((left && left > 0) || missingProvider) {
          if (left) this.invalidPrincipals.set(p.value, left - 1);
          throw new AwsError(400, 'MalformedPolicyDocument', `Invalid principal in policy: "${p.type}":"${p.value}"`);
        }
      }
    }
  }

  private static roleXml(r: FakeRole): XmlNode {
    return {
      Path: r.path,
      RoleName: r.name,
      RoleId: r.roleId,
      Arn: r.arn,
      CreateDate: r.createDate,
      AssumeRolePolicyDocument: encodeURIComponent(r.trustPolicyRaw),
      Description: r.description,
      MaxSessionDuration: r.maxSessionDuration,
      Tags: r.tags.length ? r.tags.map((t) => ({ Key: t.Key, Value: t.Value })) : undefined,
      RoleLastUsed: {},
    };
  }

  handle(op: string, params: Params, caller: Principal): Reply {
    const ok = (result?: XmlNode) => queryResponse(IAM_NS, op, result);
    const oidc = this.oidc.handle(op, params);
    if (oidc) return oidc;
    switch (op) {
      case 'CreateRole': {
        const name = required(params, 'RoleName');
        if (!NAME_RE.test(name)) throw validation('roleName', name, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
        const path = params.get('Path') ?? '/';
        if (!PATH_RE.test(path) || path.length > 512) throw validation('path', path, 'Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)');
        const trust = required(params, 'AssumeRolePolicyDocument');
        const max = Number(params.get('MaxSessionDuration') ?? 3600);
        if (!Number.isInteger(max) || max < 3600 || max > 43200) throw validation('maxSessionDuration', String(max), 'Member must have value less than or equal to 43200');
        const tags = parseTags(params);
        if (this.roles.has(name)) throw new AwsError(409, 'EntityAlreadyExists', `Role with name ${name} already exists.`);
        this.checkTrust(trust);
        const role = this.createRole({ name, path, trustPolicy: trust, description: params.get('Description'), tags });
        role.maxSessionDuration = max;
        return ok({ Role: FakeIam.roleXml(role) });
      }
      case 'GetRole':
        return ok({ Role: FakeIam.roleXml(this.mustRole(required(params, 'RoleName'))) });
      case 'ListRoles': {
        const prefix = params.get('PathPrefix') ?? '/';
        const roles = [...this.roles.values()].filter((r) => r.path.startsWith(prefix));
        // Paged like the other IAM lists (who else trusts an OIDC provider is read from every page).
        const { items, ...more } = iamPage(roles, params, this.pageSize);
        return ok({ Roles: items.map((r) => ({ ...FakeIam.roleXml(r), Tags: undefined })), ...more });
      }
      case 'UpdateAssumeRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const doc = required(params, 'PolicyDocument');
        this.checkTrust(doc);
        role.trustPolicyRaw = doc;
        return ok();
      }
      case 'UpdateRole': {
        const role = this.mustRole(required(params, 'RoleName'));
        if (params.has('Description')) role.description = params.get('Description');
        if (params.has('MaxSessionDuration')) role.maxSessionDuration = Number(params.get('MaxSessionDuration'));
        return ok({});
      }
      case 'GetPolicy': {
        // Managed policies only (the test cloud has no customer managed ones); IAM's own answer
        // for an ARN it does not know: 404 NoSuchEntity "Policy <arn> was not found."
        const arn = required(params, 'PolicyArn');
        const m = managedPolicy(arn);
        if (!m) throw new AwsError(404, 'NoSuchEntity', `Policy ${arn} was not found.`);
        const attachments = [...this.roles.values()].filter((r) => r.attached.includes(arn)).length;
        const date = '2015-02-06T18:40:58Z';
        return ok({ Policy: { PolicyName: m.name, PolicyId: `ANPA${m.name.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(17, 'X').slice(0, 17)}`, Arn: arn, Path: '/', DefaultVersionId: 'v1', AttachmentCount: attachments, PermissionsBoundaryUsageCount: 0, IsAttachable: true, CreateDate: date, UpdateDate: date } });
      }
      case 'AttachRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const arn = required(params, 'PolicyArn');
        if (!managedPolicy(arn)) throw new AwsError(404, 'NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
        if (!role.attached.includes(arn)) {
          if (role.attached.length >= 10) throw new AwsError(409, 'LimitExceeded', 'Cannot exceed quota for PoliciesPerRole: 10');
          role.attached.push(arn);
        }
        return ok();
      }
      case 'DetachRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const arn = required(params, 'PolicyArn');
        if (!role.attached.includes(arn)) throw new AwsError(404, 'NoSuchEntity', `Policy ${arn} was not found.`);
        role.attached = role.attached.filter((a) => a !== arn);
        return ok();
      }
      case 'ListAttachedRolePolicies': {
        const role = this.mustRole(required(params, 'RoleName'));
        const attached = role.attached.map((arn) => ({ PolicyName: arn.slice(arn.lastIndexOf('/') + 1), PolicyArn: arn }));
        const { items, ...more } = iamPage(attached, params, this.pageSize);
        return ok({ AttachedPolicies: items, ...more });
      }
      case 'PutRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const name = required(params, 'PolicyName');
        if (!/^[\w+=,.@-]{1,128}$/.test(name)) throw validation('policyName', name, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+');
        const doc = required(params, 'PolicyDocument');
        parsePolicy(doc, 'identity');
        const total = [...role.inline].filter(([n]) => n !== name).reduce((n, [, d]) => n + d.replace(/\s/g, '').length, 0);
        if (total + doc.replace(/\s/g, '').length > 10240) throw new AwsError(409, 'LimitExceeded', 'Maximum policy size of 10240 bytes exceeded for role ' + role.name);
        role.inline.set(name, doc);
        return ok();
      }
      case 'GetRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const name = required(params, 'PolicyName');
        const doc = role.inline.get(name);
        if (doc === undefined) throw new AwsError(404, 'NoSuchEntity', `The role policy with name ${name} cannot be found.`);
        return ok({ RoleName: role.name, PolicyName: name, PolicyDocument: encodeURIComponent(doc) });
      }
      case 'DeleteRolePolicy': {
        const role = this.mustRole(required(params, 'RoleName'));
        const name = required(params, 'PolicyName');
        if (!role.inline.delete(name)) throw new AwsError(404, 'NoSuchEntity', `The role policy with name ${name} cannot be found.`);
        return ok();
      }
      case 'ListRolePolicies': {
        const { items, ...more } = iamPage([...this.mustRole(required(params, 'RoleName')).inline.keys()], params, this.pageSize);
        return ok({ PolicyNames: items, ...more });
      }
      case 'DeleteRole': {
        const role = this.mustRole(required(params, 'RoleName'));
        if (role.attached.length) throw new AwsError(409, 'DeleteConflict', 'Cannot delete entity, must detach all policies first.');
        if (role.inline.size) throw new AwsError(409, 'DeleteConflict', 'Cannot delete entity, must delete policies first.');
        this.roles.delete(role.name);
        return ok();
      }
      case 'TagRole': {
        const role = this.mustRole(required(params, 'RoleName'));
        role.tags = addTags(role.tags, params);
        return ok();
      }
      case 'UntagRole': {
        const role = this.mustRole(required(params, 'RoleName'));
        role.tags = removeTags(role.tags, params);
        return ok();
      }
      case 'ListRoleTags':
        return ok({ Tags: this.mustRole(required(params, 'RoleName')).tags.map((t) => ({ ...t })), IsTruncated: false });
      case 'SimulatePrincipalPolicy':
        return ok(this.simulate(params, caller));
      default:
        throw new AwsError(400, 'InvalidAction', `Could not find operation ${op} for version 2010-05-08`);
    }
  }

  private simulate(params: Params, _caller: Principal): XmlNode {
    const source = required(params, 'PolicySourceArn');
    const role = this.roleByArn(source);
    if (!role) throw new AwsError(404, 'NoSuchEntity', `The role with name ${source.slice(source.lastIndexOf('/') + 1)} cannot be found.`);
    const actions = memberList(params, 'ActionNames');
    if (!actions.length) throw validation('actionNames', 'null', 'Member must not be null');
    const resources = memberList(params, 'ResourceArns');
    const policies = this.policiesOf(role);
    const results = actions.flatMap((action) =>
      (resources.length ? resources : ['*']).map((resource) => {
        const e = evaluate(policies, action, resource);
        return {
          EvalActionName: action,
          EvalResourceName: resource,
          EvalDecision: e.decision,
          MatchedStatements: e.matched.map((m) => ({
            SourcePolicyId: m.id,
            SourcePolicyType: m.type,
            StartPosition: { Line: 1, Column: 1 },
            EndPosition: { Line: 1, Column: 1 },
          })),
          MissingContextValues: [],
        };
      }),
    );
    return { EvaluationResults: results, IsTruncated: false };
  }
}

export const IAM_MUTATING = /^(Create|Update|Attach|Detach|Put|Delete|Tag|Untag)/;
