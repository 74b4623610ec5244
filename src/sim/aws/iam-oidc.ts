// IAM OpenID Connect identity providers (what IRSA trusts), on the query protocol as the JS SDK
// (client-iam 3.1169) serialises them and as IAM answers (see /work/wt/research-20.md §1, captured
// from moto 5.2.1 with the project's SDK): the ARN is `…:oidc-provider/<host><path>` (no scheme, no
// port), GetOpenIDConnectProvider's Url has no `https://`, ListOpenIDConnectProviders gives ARNs
// only, ThumbprintList is optional, and Delete is idempotent (200 for a provider that is gone).
import { addTags, parseTags, removeTags, tagList, tagRecord, validation, type Tag } from './iam-common.js';
import { iamPage } from './paging.js';
import { AwsError, IAM_NS, memberList, queryResponse, required, type Params, type Reply, type XmlNode } from './xml.js';

export interface FakeOidcProvider {
  arn: string;
  /** As IAM stores and returns it: host and path, no scheme, no port. */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags: Tag[];
  createDate: Date;
}

/** What a test sees of a provider (FakeAws.oidcProviders()). */
export interface OidcProviderView {
  arn: string;
  url: string;
  clientIds: string[];
  thumbprints: string[];
  tags: Record<string, string>;
}

const notFound = (arn: string) => new AwsError(404, 'NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn}`);

/** `https://host[:443]/path` → `host/path`. IAM keys a provider by host and path: eksctl sends
 * `:443` in the Url yet builds the ARN without a port (pkg/iam/oidc/api.go), so IAM drops it. */
export function providerKey(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AwsError(400, 'InvalidInput', `Invalid Open ID Connect Provider URL: ${url}`);
  }
  // AWS: the URL "must begin with https://" (CreateOpenIDConnectProvider docs); the error text is not verified.
  if (u.protocol !== 'https:' || !u.hostname) throw new AwsError(400, 'InvalidInput', `Invalid Open ID Connect Provider URL: ${url}`);
  return `${u.hostname}${u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '')}`;
}

export class OidcProviders {
  readonly byArn = new Map<string, FakeOidcProvider>();

  constructor(readonly accountId: string) {}

  arnFor(url: string): string {
    return `arn:aws:iam::${this.accountId}:oidc-provider/${providerKey(url)}`;
  }

  /** Registers a provider (test setup or CreateOpenIDConnectProvider); EntityAlreadyExists for a second one with the same URL. */
  create(o: { url: string; clientIds?: string[]; thumbprints?: string[]; tags?: Tag[] | Record<string, string> }): FakeOidcProvider {
    const arn = this.arnFor(o.url);
    // Real IAM's text (quoted in eksctl, CDK and Terraform reports) names the URL as sent.
    if (this.byArn.has(arn)) throw new AwsError(409, 'EntityAlreadyExists', `Provider with url ${o.url} already exists.`);
    const p: FakeOidcProvider = {
      arn,
      url: providerKey(o.url),
      clientIds: [...(o.clientIds ?? [])],
      thumbprints: [...(o.thumbprints ?? [])],
      tags: Array.isArray(o.tags) ? o.tags.map((t) => ({ ...t })) : tagList(o.tags),
      createDate: new Date(),
    };
    this.byArn.set(arn, p);
    return p;
  }

  get(arn: string): FakeOidcProvider | undefined {
    return this.byArn.get(arn);
  }

  delete(arn: string): boolean {
    return this.byArn.delete(arn);
  }

  views(): OidcProviderView[] {
    return [...this.byArn.values()].map((p) => ({ arn: p.arn, url: p.url, clientIds: [...p.clientIds], thumbprints: [...p.thumbprints], tags: tagRecord(p.tags) }));
  }

  private must(params: Params): FakeOidcProvider {
    const arn = required(params, 'OpenIDConnectProviderArn');
    const p = this.byArn.get(arn);
    if (!p) throw notFound(arn);
    return p;
  }

  /** The seven OpenIDConnectProvider operations; undefined for any other action. */
  handle(op: string, params: Params): Reply | undefined {
    const ok = (result?: XmlNode) => queryResponse(IAM_NS, op, result);
    switch (op) {
      case 'CreateOpenIDConnectProvider': {
        const url = required(params, 'Url');
        if (url.length > 255) throw validation('url', url, 'Member must have length less than or equal to 255');
        const clientIds = memberList(params, 'ClientIDList');
        const thumbprints = memberList(params, 'ThumbprintList');
        if (thumbprints.length > 5) throw new AwsError(400, 'InvalidInput', 'Thumbprint list must contain fewer than 5 entries.');
        for (const t of thumbprints) if (!/^[0-9a-fA-F]{40}$/.test(t)) throw validation('thumbprintList', t, 'Member must have length less than or equal to 40, Member must have length greater than or equal to 40');
        if (clientIds.length > 100) throw new AwsError(409, 'LimitExceeded', 'Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100');
        const p = this.create({ url, clientIds, thumbprints, tags: parseTags(params) });
        // AWS also returns the tags in the Result (the SDK model has them); moto leaves them out.
        return ok({ OpenIDConnectProviderArn: p.arn, Tags: p.tags.length ? p.tags.map((t) => ({ ...t })) : undefined });
      }
      case 'GetOpenIDConnectProvider': {
        const p = this.must(params);
        return ok({ Url: p.url, ClientIDList: p.clientIds, ThumbprintList: p.thumbprints, CreateDate: p.createDate, Tags: p.tags.map((t) => ({ ...t })) });
      }
      case 'ListOpenIDConnectProviders':
        return ok({ OpenIDConnectProviderList: [...this.byArn.keys()].map((Arn) => ({ Arn })) });
      case 'DeleteOpenIDConnectProvider':
        // Idempotent, as the SDK documents and moto answers: no error for a provider that is gone.
        this.byArn.delete(required(params, 'OpenIDConnectProviderArn'));
        return ok();
      case 'TagOpenIDConnectProvider': {
        const p = this.must(params);
        p.tags = addTags(p.tags, params);
        return ok();
      }
      case 'UntagOpenIDConnectProvider': {
        const p = this.must(params);
        p.tags = removeTags(p.tags, params);
        return ok();
      }
      case 'ListOpenIDConnectProviderTags': {
        const { items, ...more } = iamPage(this.must(params).tags, params, 100);
        return ok({ Tags: items.map((t) => ({ ...t })), ...more });
      }
      default:
        return undefined;
    }
  }
}
