/**
 * Which statements of a bucket policy grant public access, as Amazon S3 defines it ("The meaning
 * of public", S3 User Guide; `PublicAccessBlockConfiguration` in the API reference), and the
 * policy without them — every other statement kept byte for byte as it was written.
 *
 * S3 starts from "public" and calls a policy non-public only when each Allow statement is limited
 * to fixed values (no wildcard, no policy variable) of a principal or of one of the condition keys
 * below. A Deny grants nothing. `NotPrincipal` with Allow grants every principal but the ones it
 * names, so it is public.
 */

/** Condition keys whose fixed values make a statement with a wildcard principal non-public (lower case: keys are case-insensitive). */
export const RESTRICTING_CONDITION_KEYS = [
  'aws:sourceip',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourcearn',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalorgid',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:userid',
  's3:dataaccesspointarn',
  's3:dataaccesspointaccount',
  's3:x-amz-server-side-encryption-aws-kms-key-id',
] as const;

/** Operators that limit a key to the values given (negated operators, `…IfExists` and `ForAllValues:` let an absent key through). */
const RESTRICTING_OPERATORS = new Set(['stringequals', 'stringequalsignorecase', 'stringlike', 'arnequals', 'arnlike', 'ipaddress']);

/** What the analysis says of one statement. */
export interface StatementVerdict {
  /** Position in the policy's `Statement` list (0 for a single statement object). */
  index: number;
  sid?: string;
  public: boolean;
  /** Why, in a sentence a responder reads. */
  reason: string;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const asList = (v: Json | undefined): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const hasWildcard = (value: string) => value.includes('*') || value.includes('?');
const hasVariable = (value: string) => value.includes('${');

/** An IPv4 range narrower than /8, or an IPv6 range narrower than /32: broader ranges count as public. */
function fixedCidr(value: string): boolean {
  const [address, prefix] = value.split('/');
  if (!address) return false;
  const ipv6 = address.includes(':');
  const bits = prefix === undefined ? (ipv6 ? 128 : 32) : Number(prefix);
  if (!Number.isInteger(bits)) return false;
  return ipv6 ? bits >= 32 && bits <= 128 : bits >= 8 && bits <= 32;
}

/** An access point ARN may name every access point of one fixed account (`…:123456789012:accesspoint/*`). */
const ACCESS_POINT_ARN_WITH_FIXED_ACCOUNT = /^arn:aws[a-z-]*:s3:[a-z0-9-]+:\d{12}:accesspoint\/\*$/;

function fixedValue(key: string, value: Json): boolean {
  if (typeof value === 'number' || typeof value === 'boolean') return true;
  if (typeof value !== 'string' || value.length === 0) return false;
  if (hasVariable(value)) return false;
  if (key === 'aws:sourceip') return fixedCidr(value);
  if (key === 's3:dataaccesspointarn' && ACCESS_POINT_ARN_WITH_FIXED_ACCOUNT.test(value)) return true;
  return !hasWildcard(value);
}

/** The first condition that limits the statement to fixed values, named for the verdict (`IpAddress aws:SourceIp`); undefined when none does. */
function restrictingCondition(condition: Json | undefined): string | undefined {
  if (!condition || typeof condition !== 'object' || Array.isArray(condition)) return undefined;
  for (const [operator, block] of Object.entries(condition)) {
    const op = operator.toLowerCase().replace(/^foranyvalue:/, '');
    if (!RESTRICTING_OPERATORS.has(op)) continue;
    if (!block || typeof block !== 'object' || Array.isArray(block)) continue;
    for (const [key, values] of Object.entries(block)) {
      const k = key.toLowerCase();
      if (!(RESTRICTING_CONDITION_KEYS as readonly string[]).includes(k)) continue;
      if (op === 'ipaddress' && k !== 'aws:sourceip') continue;
      const list = asList(values);
      if (list.length > 0 && list.every((v) => fixedValue(k, v))) return `${operator} ${key}`;
    }
  }
  return undefined;
}

/** True when the principal names everyone: `"*"`, or `*` in any of its values (`{"AWS": "*"}`). */
function wildcardPrincipal(principal: Json | undefined): boolean {
  if (principal === '*') return true;
  if (!principal || typeof principal !== 'object' || Array.isArray(principal)) return typeof principal === 'string' && hasWildcard(principal);
  return Object.values(principal).some((v) => asList(v).some((p) => typeof p === 'string' && hasWildcard(p)));
}

/**
 * Whether one statement grants public access.
 *
 * @example
 * ```ts
 * statementVerdict({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }, 0).public // true
 * ```
 */
export function statementVerdict(statement: Json, index: number): StatementVerdict {
  const s = statement && typeof statement === 'object' && !Array.isArray(statement) ? statement : {};
  const sid = typeof s.Sid === 'string' ? s.Sid : undefined;
  const verdict = (isPublic: boolean, reason: string): StatementVerdict => ({ index, ...(sid !== undefined ? { sid } : {}), public: isPublic, reason });
  if (s.Effect !== 'Allow') return verdict(false, 'a Deny grants nothing');
  const restricted = restrictingCondition(s.Condition);
  if (s.NotPrincipal !== undefined) {
    return restricted ? verdict(false, `NotPrincipal, limited by fixed values of ${restricted}`) : verdict(true, 'Allow with NotPrincipal grants every principal it does not name');
  }
  if (s.Principal === undefined) return verdict(false, 'names no principal');
  if (!wildcardPrincipal(s.Principal)) return verdict(false, 'grants fixed principals only');
  if (restricted) return verdict(false, `wildcard principal limited by fixed values of ${restricted}`);
  return verdict(true, s.Condition ? 'wildcard principal; no condition limits it to fixed values of a restricting key' : 'wildcard principal with no condition');
}

/** The verdict on every statement of a policy document (its text, as S3 returns it). */
export function policyVerdicts(policyText: string): StatementVerdict[] {
  const doc = JSON.parse(policyText) as Json;
  const statements = doc && typeof doc === 'object' && !Array.isArray(doc) ? doc.Statement : undefined;
  return asList(statements).map((s, i) => statementVerdict(s, i));
}

// ---------------------------------------------------------------------------
// Byte-preserving removal: statements are cut out of the text, never re-serialised.
// ---------------------------------------------------------------------------

/** A [start, end) range of the policy text. */
type Span = [number, number];

class Scanner {
  i = 0;
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  ws(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }
  expect(ch: string): void {
    this.ws();
    if (this.text[this.i] !== ch) throw new SyntaxError(`expected ${ch} at ${this.i}`);
    this.i++;
  }
  string(): string {
    this.ws();
    const start = this.i;
    if (this.text[this.i] !== '"') throw new SyntaxError(`expected a string at ${this.i}`);
    this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === '\\' ? 2 : 1;
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }
  /** Skips one value and returns its span. */
  value(): Span {
    this.ws();
    const start = this.i;
    const ch = this.text[this.i];
    if (ch === '"') this.string();
    else if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      this.i++;
      this.ws();
      if (this.text[this.i] === close) this.i++;
      else {
        for (;;) {
          if (ch === '{') {
            this.string();
            this.expect(':');
          }
          this.value();
          this.ws();
          if (this.text[this.i] === ',') this.i++;
          else break;
        }
        this.expect(close);
      }
    } else {
      while (this.i < this.text.length && /[^\s,\]}]/.test(this.text[this.i]!)) this.i++;
    }
    return [start, this.i];
  }
  /** The spans of an array's elements, the scanner on its `[`. */
  elements(): Span[] {
    this.expect('[');
    const spans: Span[] = [];
    this.ws();
    if (this.text[this.i] === ']') {
      this.i++;
      return spans;
    }
    for (;;) {
      spans.push(this.value());
      this.ws();
      if (this.text[this.i] === ',') this.i++;
      else break;
    }
    this.expect(']');
    return spans;
  }
}

/** Where the `Statement` value is in the text, and (for a list) each statement's span. */
function statementSpans(text: string): { value: Span; elements?: Span[] } {
  const s = new Scanner(text);
  s.expect('{');
  s.ws();
  if (text[s.i] === '}') throw new SyntaxError('the policy has no Statement');
  for (;;) {
    const key = s.string();
    s.expect(':');
    s.ws();
    if (key === 'Statement') {
      const start = s.i;
      if (text[s.i] === '[') {
        const elements = s.elements();
        return { value: [start, s.i], elements };
      }
      return { value: s.value() };
    }
    s.value();
    s.ws();
    if (text[s.i] === ',') s.i++;
    else break;
  }
  throw new SyntaxError('the policy has no Statement');
}

/**
 * The policy text without the statements at `indexes`: the rest of the text, and every statement
 * kept, exactly as written. `undefined` when no statement would be left (S3 refuses a policy
 * without statements: delete the policy instead).
 *
 * @example
 * ```ts
 * withoutStatements('{"Version":"2012-10-17","Statement":[{"Sid":"A"},{"Sid":"B"}]}', [0])
 * // '{"Version":"2012-10-17","Statement":[{"Sid":"B"}]}'
 * ```
 */
export function withoutStatements(text: string, indexes: readonly number[]): string | undefined {
  const drop = new Set(indexes);
  const { value, elements } = statementSpans(text);
  if (!elements) return drop.has(0) ? undefined : text;
  const kept = elements.filter((_, i) => !drop.has(i));
  if (kept.length === 0) return undefined;
  if (kept.length === elements.length) return text;
  const first = elements[0]!;
  const last = elements[elements.length - 1]!;
  // The separator between the first two statements as written (e.g. ",\n    "), reused between the kept ones.
  const separator = elements.length > 1 ? text.slice(first[1], elements[1]![0]) : ',';
  const array = text.slice(value[0], first[0]) + kept.map(([a, b]) => text.slice(a, b)).join(separator) + text.slice(last[1], value[1]);
  return text.slice(0, value[0]) + array + text.slice(value[1]);
}
