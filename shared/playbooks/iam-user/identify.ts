import * as z from 'zod';
import { CLOUDTRAIL_LOOKUP_IAM_ACTIONS, lookupTrailPage, type TrailEvent, type TrailQuery } from '../../actions/cloudtrail.ts';
import { defaultReviewRegions } from '../../actions/identity-review/index.ts';
import { matchesPattern, type StepContext } from '../../engine/index.ts';
import { classifyError, StepFailedError } from '../../errors/index.ts';
import { DESCRIBE_IAM_ACTIONS, describeUser, userArns, UserStateSchema, type UserState } from './describe.ts';
import { iamUserStep, type IamUserTypes } from './types.ts';

/** How long one delivery waits for a LookupEvents token (the bucket is shared by every function). */
const TOKEN_WAIT_MS = 5_000;
/** Pages read per query and delivery: events made with the key say who issued it on the first page they appear on. */
const PAGES_PER_QUERY = { byKey: 2, byFederationCall: 4 } as const;
/** When a delivery got no LookupEvents token: look again this much later. */
const RETRY_AFTER_SECONDS = 30;

/**
 * What identifyUser records: the IAM user the playbook acts on, how it was found, and the user
 * as it was then (`before`: what release restores and what "the user's other keys" means).
 * `mintedWithKey`: the long-term key a GetFederationToken call was signed with.
 */
export const IdentifiedUserSchema = z.object({
  userName: z.string(),
  userArn: z.string(),
  foundBy: z.enum(['finding', 'sessionIssuer', 'GetFederationToken']),
  mintedWithKey: z.string().optional(),
  trailEventId: z.string().optional(),
  before: UserStateSchema,
});
export type IdentifiedUser = z.infer<typeof IdentifiedUserSchema>;

/** An IAM user's ARN → its name (the last path segment); undefined for anything else (root, a role). */
export function userNameOfArn(arn: string): { account: string; userName: string } | undefined {
  const m = /^arn:aws[a-z-]*:iam::(\d{12}):user\/(?:.*\/)?([\w+=,.@-]{1,64})$/.exec(arn);
  return m ? { account: m[1]!, userName: m[2]! } : undefined;
}

type Issuer = { arn: string; foundBy: 'sessionIssuer' | 'GetFederationToken'; eventId: string; mintedWithKey?: string };
type Lookup = { kind: 'found'; issuer: Issuer } | { kind: 'not-found'; looked: string[] } | { kind: 'unavailable'; reason: string };

const federationCallOf = (e: TrailEvent, accessKeyId: string | undefined, principalId: string | undefined, federatedArn: string): boolean => {
  const out = (e.responseElements ?? {}) as { credentials?: { accessKeyId?: unknown }; federatedUser?: { federatedUserId?: unknown; arn?: unknown } };
  if (accessKeyId && out.credentials?.accessKeyId === accessKeyId) return true;
  if (!accessKeyId && principalId && out.federatedUser?.federatedUserId === principalId) return true;
  // Without the key, the session's ARN names it too (the same name may be minted more than once: the latest wins, LookupEvents returns newest first).
  return !accessKeyId && !principalId && out.federatedUser?.arn === federatedArn;
};

/**
 * Finds the IAM user who minted a federated user's session, in CloudTrail: an event made with the
 * session's key names its issuer (`userIdentity.sessionContext.sessionIssuer`); failing that, the
 * GetFederationToken call that returned the key (made by the issuer, with its long-term key).
 */
async function findIssuer(ctx: StepContext<IamUserTypes, unknown>, sessionArn: string): Promise<Lookup> {
  const { exposure } = ctx.resource;
  const end = ctx.now();
  const start = new Date(end.getTime() - ctx.options.federation_lookup_hours * 3600_000);
  const looked: string[] = [];
  // GetFederationToken through the global STS endpoint is logged in the partition's global-events
  // region (us-east-1), the session's own calls where they were made: both regions are read.
  for (const region of defaultReviewRegions(ctx.incident)) {
    const clients = region === ctx.incident.region ? ctx.clients : ctx.clientsIn?.(region);
    if (!clients) continue;
    const where = { clients, pacer: ctx.pacer, accountId: ctx.incident.accountId, region };
    const scan = async (query: TrailQuery, pages: number, pick: (e: TrailEvent) => Issuer | undefined): Promise<Lookup | undefined> => {
      let token: string | undefined;
      for (let page = 0; page < pages; page++) {
        const got = await lookupTrailPage(where, query, token, TOKEN_WAIT_MS);
        if (got.kind === 'throttled') return { kind: 'unavailable', reason: got.reason };
        for (const e of got.events) {
          const issuer = pick(e);
          if (issuer) return { kind: 'found', issuer };
        }
        token = got.nextToken;
        if (!token) break;
      }
      return undefined;
    };
    if (exposure.accessKeyId) {
      looked.push(`events made with ${exposure.accessKeyId} in ${region}`);
      const byKey = await scan({ attribute: 'AccessKeyId', value: exposure.accessKeyId, start, end }, PAGES_PER_QUERY.byKey, (e) =>
        e.sessionIssuer && (e.principal === sessionArn || e.principal?.includes(':federated-user/')) ? { arn: e.sessionIssuer, foundBy: 'sessionIssuer', eventId: e.eventId } : undefined,
      );
      if (byKey) return byKey;
    }
    looked.push(`GetFederationToken calls in ${region} since ${start.toISOString()}`);
    const byCall = await scan({ attribute: 'EventName', value: 'GetFederationToken', start, end }, PAGES_PER_QUERY.byFederationCall, (e) =>
      e.principal && federationCallOf(e, exposure.accessKeyId, exposure.principalId, sessionArn)
        ? { arn: e.principal, foundBy: 'GetFederationToken', eventId: e.eventId, ...(e.accessKeyId ? { mintedWithKey: e.accessKeyId } : {}) }
        : undefined,
    );
    if (byCall) return byCall;
  }
  return { kind: 'not-found', looked };
}

export const identifyUser = iamUserStep({
  name: 'identifyUser',
  stage: 'contain',
  description: 'Identify the affected IAM user using GuardDuty (for a federated user: the IAM user who minted the session, found in CloudTrail)',
  iamActions: [...CLOUDTRAIL_LOOKUP_IAM_ACTIONS, ...DESCRIBE_IAM_ACTIONS],
  data: IdentifiedUserSchema,
  async run(ctx) {
    const { resource, capture, incident, config, options, clients } = ctx;
    if (resource.kind === 'user') {
      // The user the finding names; its state as the first delivery saw it.
      const before = capture.user ?? resource.user;
      return { status: 'done', summary: `the finding names IAM user ${before.userName} (${before.userArn})`, data: { userName: before.userName, userArn: before.userArn, foundBy: 'finding' as const, before } };
    }
    const session = `${resource.sessionName} (${resource.federatedUserArn})`;
    const leaveAlone = `Firebreak changed nothing: the session name is chosen by whoever called GetFederationToken, so an IAM user named ${resource.sessionName} is not acted on.`;
    let lookup: Lookup;
    try {
      lookup = await findIssuer(ctx as StepContext<IamUserTypes, unknown>, resource.federatedUserArn);
    } catch (error) {
      const c = classifyError(error);
      // A 5xx or throttling answer may pass: look again, within the same bound as a missing token.
      if (!c.retryable) {
        throw new StepFailedError(
          'identifyUser',
          'IssuerUnknown',
          `CloudTrail LookupEvents failed with ${c.code}${c.unsupported ? ' (not supported by this endpoint)' : ''} for federated user ${session}. ${leaveAlone} Recommendation: find the GetFederationToken call that returned ${resource.exposure.accessKeyId ?? 'the session key'} in CloudTrail, then contain that user: firebreak contain IAMUser <user> --ticket …`,
          { retryable: false, cause: error },
        );
      }
      lookup = { kind: 'unavailable', reason: `LookupEvents failed with ${c.code}` };
    }
    if (lookup.kind === 'unavailable') {
      const attempts = (ctx.previous?.attempts ?? 0) + 1;
      if (attempts < options.federation_lookup_attempts) {
        return { status: 'pending', retryAfterSeconds: RETRY_AFTER_SECONDS, summary: `waiting for CloudTrail to find who minted federated user ${session}: ${lookup.reason}` };
      }
      throw new StepFailedError(
        'identifyUser',
        'IssuerUnknown',
        `CloudTrail could not be read for federated user ${session} in ${attempts} deliveries (${lookup.reason}). ${leaveAlone} Recommendation: find the GetFederationToken call that returned ${resource.exposure.accessKeyId ?? 'the session key'} in CloudTrail (us-east-1 for the global STS endpoint), then contain that user: firebreak contain IAMUser <user> --ticket …`,
        { retryable: false },
      );
    }
    if (lookup.kind === 'not-found') {
      throw new StepFailedError(
        'identifyUser',
        'IssuerUnknown',
        `no CloudTrail event names who minted federated user ${session} (looked at ${lookup.looked.join(' and ')}). ${leaveAlone} Recommendation: look for the GetFederationToken call in the region the caller used, if another, or in a trail, then contain that user: firebreak contain IAMUser <user> --ticket …`,
        { retryable: false },
      );
    }
    const { issuer } = lookup;
    const named = userNameOfArn(issuer.arn);
    if (!named || named.account !== incident.accountId) {
      // Root can call GetFederationToken too: no IAM user to act on (the account playbook's case).
      throw new StepFailedError(
        'identifyUser',
        'IssuerNotAUser',
        `federated user ${session} was minted by ${issuer.arn} (CloudTrail event ${issuer.eventId}), not by an IAM user of account ${incident.accountId}. ${leaveAlone} Recommendation: ${issuer.arn.endsWith(':root') ? "the account's root credentials are in use: follow the compromised-account playbook" : `contain ${issuer.arn} in its own account`}.`,
        { retryable: false },
      );
    }
    const protectedBy = config.protectedPrincipals.find((p) => userArns(issuer.arn, named.userName).some((arn) => matchesPattern(p, arn)));
    if (protectedBy) {
      throw new StepFailedError(
        'identifyUser',
        'ProtectedPrincipal',
        `federated user ${session} was minted by ${issuer.arn}, a protected principal (matches ${protectedBy}): nothing was changed. A responder must decide (the protected user's credentials are being used to mint sessions).`,
        { retryable: false },
      );
    }
    const before = await describeUser(clients.iam, named.userName);
    if (!before) {
      throw new StepFailedError('identifyUser', 'IssuerGone', `federated user ${session} was minted by ${issuer.arn}, which no longer exists: nothing to contain (its sessions are invalid once the user is deleted)`, { retryable: false });
    }
    return {
      status: 'done',
      summary: `federated user ${session} was minted by IAM user ${before.userName} (${issuer.foundBy === 'sessionIssuer' ? 'the session issuer of' : 'the GetFederationToken call,'} CloudTrail event ${issuer.eventId}${issuer.mintedWithKey ? `, signed with ${issuer.mintedWithKey}` : ''}): acting on that user`,
      data: { userName: before.userName, userArn: before.userArn, foundBy: issuer.foundBy, ...(issuer.mintedWithKey ? { mintedWithKey: issuer.mintedWithKey } : {}), trailEventId: issuer.eventId, before },
    };
  },
});

const described = new WeakMap<object, Promise<UserState | undefined>>();

/**
 * The user a step acts on, as identifyUser found it, and as it is now (read once per delivery
 * and shared by the steps running together: for an IAM user, describe's read; for a federated
 * user's issuer, one more read). `now` is undefined when the user was deleted since.
 */
export async function userToActOn(ctx: Pick<StepContext<IamUserTypes, unknown>, 'resource' | 'clients' | 'outputOf'>): Promise<{ identified: IdentifiedUser; now: UserState | undefined }> {
  const identified = ctx.outputOf(identifyUser);
  if (!identified) throw new StepFailedError('identifyUser', 'UserNotIdentified', 'identifyUser has not identified the user to act on', { retryable: false });
  const { resource } = ctx;
  if (resource.kind === 'user' && resource.user.userName === identified.userName) return { identified, now: resource.user };
  let read = described.get(resource);
  if (!read) {
    read = describeUser(ctx.clients.iam, identified.userName);
    described.set(resource, read);
  }
  return { identified, now: await read };
}
