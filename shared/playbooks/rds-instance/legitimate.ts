import * as z from 'zod';
import { databaseNameOf, type Incident } from '../../findings/index.ts';
import type { RdsOptions } from './options.ts';
import { rdsStep } from './types.ts';

/** Whether an IPv4 address lies in a CIDR block. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const toInt = (a: string) => a.split('.').reduce((n, octet) => (n << 8) + Number(octet), 0) >>> 0;
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !base) return false;
  const bits = Number(bitsText);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(ip) & mask) === (toInt(base) & mask);
}

/** The decision on the login, as recorded. */
export interface LoginAssessment {
  legitimate: boolean;
  user?: string;
  remoteIps: string[];
  reason: string;
}

/**
 * Whether the finding's login matches the configured legitimate behaviour: with legitimate users
 * configured, the user must be one of them; with legitimate networks, every remote address must
 * lie in one of them (a finding naming no address does not match). Neither configured: never.
 */
export function assessLogin(incident: Incident, options: Pick<RdsOptions, 'legitimate_users' | 'legitimate_networks'>): LoginAssessment {
  const user = databaseNameOf(incident.resource.hints, 'dbUser');
  const remoteIps = incident.remoteIps;
  const base = { ...(user !== undefined ? { user } : {}), remoteIps };
  const users = options.legitimate_users;
  const networks = options.legitimate_networks;
  if (users.length === 0 && networks.length === 0) return { ...base, legitimate: false, reason: 'no legitimate behaviour is configured (legitimate_users, legitimate_networks)' };
  if (users.length > 0 && (user === undefined || !users.includes(user))) {
    return { ...base, legitimate: false, reason: user === undefined ? 'the finding names no database user' : `user ${JSON.stringify(user)} is not one of legitimate_users` };
  }
  if (networks.length > 0) {
    if (remoteIps.length === 0) return { ...base, legitimate: false, reason: 'the finding names no remote address to match legitimate_networks' };
    const outside = remoteIps.filter((ip) => !networks.some((cidr) => inCidr(ip, cidr)));
    if (outside.length) return { ...base, legitimate: false, reason: `${outside.join(', ')} lies outside legitimate_networks` };
  }
  const parts = [users.length ? `user ${JSON.stringify(user)} is legitimate` : '', networks.length ? `${remoteIps.join(', ')} within legitimate_networks` : ''].filter(Boolean);
  return { ...base, legitimate: true, reason: parts.join(', from ') };
}

const AssessmentSchema = z.object({ legitimate: z.boolean(), user: z.string().optional(), remoteIps: z.array(z.string()), reason: z.string() });

/** The summary every other step gives when the login is legitimate behaviour. */
export const legitimateSummary = (a: LoginAssessment): string => `the login matches legitimate behaviour (${a.reason}): nothing done`;

/**
 * "If it is NOT legitimate behaviour": decided first, from the finding and the options alone, and
 * recorded. Every other step reads the same decision and does nothing when the login is legitimate.
 */
export const checkLegitimateBehaviour = rdsStep({
  name: 'checkLegitimateBehaviour',
  stage: 'contain',
  description: 'Identify the DB instance and user from the finding, and decide whether the login matches the configured legitimate behaviour (users, networks)',
  iamActions: [],
  data: AssessmentSchema,
  async run({ incident, options, resource }) {
    const a = assessLogin(incident, options);
    const who = `${a.user === undefined ? 'an unnamed user' : JSON.stringify(a.user)} on ${resource.dbInstanceIdentifier}${resource.cluster ? ` (cluster ${resource.cluster.dbClusterIdentifier})` : ''} from ${a.remoteIps.join(', ') || 'no named address'}`;
    return {
      status: 'done',
      summary: a.legitimate ? `login by ${who} is legitimate behaviour (${a.reason}): recorded, nothing else is done` : `login by ${who} is not legitimate behaviour (${a.reason}): containing`,
      data: a,
    };
  },
});
