/**
 * Generates Terraform type constraints and `validation` blocks from a playbook's zod v4 options
 * schema, so that `terraform plan` accepts and rejects the same option values as the functions.
 *
 * Supported zod features: object (strict only), string, number, boolean, enum, literal, array,
 * record with string keys, optional, default, prefault, nullable, readonly, pipe/transform (input
 * side), and these checks: regex and the other pattern-based string formats (RE2-compatible
 * patterns only), min/max/exact length, gt/gte/lt/lte, int/int32/uint32/float32/float64,
 * multipleOf. Refinements (`.refine`, `.superRefine`, `.check`) cannot be translated and are
 * ignored: pass HCL for them to {@link terraformVariable} as `extraValidations`. Anything else
 * (unions, tuples, `.catch`, `.trim()`, z.url() …) throws at generation time, so a schema can never
 * silently lose a check.
 *
 * Known differences that the generated HCL cannot remove:
 * - Terraform DISCARDS attributes an object type does not declare (no error), where `.strict()`
 *   rejects them; the functions never see them, since they get Terraform's converted value.
 * - Terraform converts between primitive types ("10" → 10, "true" → true); zod does not. The
 *   functions again get the converted value.
 * - Terraform cannot tell an absent attribute from a null one, and the functions drop object
 *   properties that are null before parsing: null means absent, so a required property must be
 *   non-null even when it is `.nullable()`. List elements keep their nulls and are checked.
 * - `length()` counts Unicode characters (grapheme clusters), JS counts UTF-16 code units; RE2
 *   `.`, `\s` and `(?m)` line ends differ from JS for `\r`, `\v`, U+2028/2029 and other Unicode spaces.
 * - Terraform validates `.default()` values too; zod does not re-check a default.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { terraformType, terraformValidations, terraformVariable } from './terraform-schema.ts';
 *
 * const schema = z.object({ ami_id: z.string().regex(/^ami-[0-9a-f]{8,17}$/).optional() }).strict();
 * terraformType(schema); // 'object({\n  ami_id = optional(string)\n})'
 * terraformValidations(schema, 'var.options');
 * // [{ condition: 'try(var.options.ami_id, null) == null || can(regex("^ami-[0-9a-f]{8,17}$", var.options.ami_id))',
 * //    error_message: 'ami_id must match the pattern /^ami-[0-9a-f]{8,17}$/.' }]
 * terraformVariable('options', schema, { default: {} }); // the whole `variable "options" { … }` block
 * ```
 */
import type { z } from 'zod';

/** One Terraform `validation` block. `error_message` is plain text: render it with {@link hclString}. */
export interface TerraformValidation {
  condition: string;
  error_message: string;
}

/** The parts of zod v4's `_zod.def` this module reads (schemas and checks share the shape). */
interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: z.ZodType;
  out?: z.ZodType;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  check?: string;
}

interface CheckDef {
  check: string;
  format?: string;
  pattern?: RegExp;
  prefix?: string;
  suffix?: string;
  includes?: string;
  minimum?: number;
  maximum?: number;
  length?: number;
  value?: number;
  inclusive?: boolean;
  error?: (issue: unknown) => unknown;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** A schema without its optional/default/nullable/readonly/pipe wrappers, and what they said. */
interface Unwrapped {
  schema: z.ZodType;
  optional: boolean;
  nullable: boolean;
  default?: { value: unknown };
  checks: CheckDef[];
}

function unwrap(schema: z.ZodType): Unwrapped {
  const u: Unwrapped = { schema, optional: false, nullable: false, checks: [] };
  for (;;) {
    const d = defOf(u.schema);
    u.checks.push(...(d.checks ?? []).map((c) => c._zod.def));
    if (d.check) u.checks.push(d as unknown as CheckDef); // z.int(), z.email(): the schema is its own check
    if (d.type === 'optional') u.optional = true;
    else if (d.type === 'nullable') u.nullable = true;
    else if (d.type === 'default' || d.type === 'prefault') {
      u.optional = true;
      u.default ??= { value: d.defaultValue };
    } else if (d.type === 'pipe') {
      // The input side is what Terraform sees; z.preprocess() pipes from a transform, so use its output.
      u.schema = defOf(d.in!).type === 'transform' ? d.out! : d.in!;
      continue;
    } else if (d.type !== 'readonly') return u;
    u.schema = d.innerType!;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const KEYWORDS = new Set(['true', 'false', 'null', 'for', 'in', 'if', 'endfor', 'endif']);

function unsupported(path: string, what: string): never {
  throw new Error(`terraform-schema: ${path || '(root)'}: ${what} cannot be expressed in Terraform`);
}

/** The scalar HCL type of an enum's or literal's values. */
function scalarType(values: unknown[], path: string): string {
  const kinds = new Set(values.map((v) => typeof v));
  const kind = kinds.size === 1 ? [...kinds][0] : undefined;
  if (kind === 'string') return 'string';
  if (kind === 'number') return 'number';
  if (kind === 'boolean') return 'bool';
  return unsupported(path, `an enum/literal of ${[...kinds].join(' and ')} values`);
}

/**
 * Renders the HCL type constraint for a zod schema, laid out as `terraform fmt` leaves it
 * (2-space indentation, `=` aligned within runs of one-line attributes). Optional and defaulted
 * properties become `optional(T)` / `optional(T, default)`; nullable is dropped (every Terraform
 * value may be null); pipes use their input side and refinements their inner type.
 *
 * @param schema - the options schema; its objects must be `.strict()`.
 * @throws Error for zod features Terraform cannot express.
 * @example terraformType(z.record(z.string(), z.array(z.number()))) // 'map(list(number))'
 */
export function terraformType(schema: z.ZodType): string {
  return renderType(schema, 0, '');
}

/** {@link terraformType} for a type that starts on a line indented by `indent` spaces. */
function renderType(schema: z.ZodType, indent: number, path: string): string {
  const { schema: s } = unwrap(schema);
  const d = defOf(s);
  switch (d.type) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    case 'enum':
      return scalarType(Object.values(d.entries!), path);
    case 'literal':
      return scalarType(d.values!, path);
    case 'array':
      return `list(${renderType(d.element!, indent, `${path}[*]`)})`;
    case 'record':
      if (defOf(unwrap(d.keyType!).schema).type !== 'string') unsupported(path, 'a record whose keys are not z.string()');
      return `map(${renderType(d.valueType!, indent, `${path}{*}`)})`;
    case 'object': {
      // Terraform drops undeclared attributes silently; only `.strict()` gives the functions the same shape.
      if (!d.catchall || defOf(d.catchall).type !== 'never') unsupported(path, 'an object that is not .strict()');
      const pad = ' '.repeat(indent + 2);
      const items = Object.entries(d.shape!).map(([key, child]) => {
        const childPath = path ? `${path}.${key}` : key;
        if (!IDENTIFIER.test(key)) unsupported(childPath, `the attribute name ${JSON.stringify(key)}`);
        const u = unwrap(child);
        const t = renderType(u.schema, indent + 2, childPath);
        const value = u.default ? `optional(${t}, ${hclLiteral(u.default.value)})` : u.optional ? `optional(${t})` : t;
        return { key, value };
      });
      if (items.length === 0) return 'object({})';
      return `object({\n${alignAttributes(items, pad).join('\n')}\n${' '.repeat(indent)}})`;
    }
    default:
      return unsupported(path, `z.${d.type}()`);
  }
}

/** `key = value` lines; runs of one-line values get their `=` aligned, as `terraform fmt` does. */
function alignAttributes(items: Array<{ key: string; value: string }>, pad: string): string[] {
  const lines: string[] = [];
  let run: typeof items = [];
  const flush = () => {
    const width = Math.max(...run.map((i) => i.key.length));
    lines.push(...run.map((i) => `${pad}${i.key.padEnd(width)} = ${i.value}`));
    run = [];
  };
  for (const item of items) {
    if (item.value.includes('\n')) {
      if (run.length) flush();
      lines.push(`${pad}${item.key} = ${item.value}`);
    } else run.push(item);
  }
  if (run.length) flush();
  return lines;
}

/**
 * A quoted HCL string: escapes backslashes, quotes and control characters, and the template
 * sequences `${` and `%{` (as `$${` and `%%{`).
 * @example hclString('a "${b}"') // '"a \\"$${b}\\""'
 */
export function hclString(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `"${out.replace(/([$%])\{/g, (_m, sigil: string) => `${sigil}${sigil}{`)}"`;
}

/**
 * A JSON value as a one-line HCL literal, e.g. `{ enabled = false, wait_seconds = 10 }`.
 * @example hclLiteral({ a: [1, 'x'], 'b-c': null }) // '{ a = [1, "x"], b-c = null }'
 */
export function hclLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return hclString(value);
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`terraform-schema: ${value} has no HCL literal`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(hclLiteral).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    const key = (k: string) => (IDENTIFIER.test(k) && !KEYWORDS.has(k) ? k : hclString(k));
    return `{ ${entries.map(([k, v]) => `${key(k)} = ${hclLiteral(v)}`).join(', ')} }`;
  }
  throw new Error(`terraform-schema: a ${typeof value} has no HCL literal`);
}

/** General categories RE2 knows by these names (it has no long names and no `Script=` form). */
const UNICODE_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

/**
 * Translates a JS RegExp into RE2 syntax (Terraform's `regex()`), throwing for what RE2 lacks:
 * lookarounds, backreferences, `\c` escapes, class set notation (`v` flag), counts above 1000.
 * @example toRe2(/^(?<id>i-[0-9a-f]+)$/i) // '(?i)^(?P<id>i-[0-9a-f]+)$'
 */
export function toRe2(re: RegExp, where = 'regex'): string {
  const fail = (what: string): never => {
    throw new Error(`terraform-schema: ${where}: /${re.source}/${re.flags} uses ${what}, which Terraform's regex() (RE2) does not support`);
  };
  if (re.flags.includes('v')) fail('the v flag');
  const src = re.source;
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    const rest = src.slice(i);
    if (c === '\\') {
      const n = src[++i] ?? '';
      if (/[1-9]/.test(n) || rest.startsWith('\\k<')) fail('a backreference');
      else if (n === '0') out += /[0-9]/.test(src[i + 1] ?? '') ? fail('an octal escape') : '\\x00';
      else if (n === 'u') {
        const m = /^\\u(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/.exec(rest) ?? fail('a malformed \\u escape');
        const cp = parseInt(m[1] ?? m[2]!, 16);
        if (cp >= 0xd800 && cp <= 0xdfff) fail('a UTF-16 surrogate escape (write the character itself)');
        out += `\\x{${cp.toString(16)}}`;
        i += m[0].length - 2;
      } else if (n === 'p' || n === 'P') {
        const m = /^\\[pP]\{(\w+)\}/.exec(rest);
        if (!m || !UNICODE_CATEGORIES.has(m[1]!)) fail(`the property escape ${m?.[0] ?? '\\p'} (only general categories such as \\p{Lu})`);
        out += m![0];
        i += m![0].length - 2;
      } else if (n === 'x' && !/^\\x[0-9a-fA-F]{2}/.test(rest)) fail('a malformed \\x escape');
      else if (n === 'b' && inClass) out += '\\x08'; // [\b] is a backspace in JS
      else if (/[A-Za-z]/.test(n) && !'dDwWsSbBtnrfvx'.includes(n)) fail(`the escape \\${n}`);
      else out += `\\${n}`;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c; // RE2 reads [[:alpha:]] as a POSIX class, JS as a literal '['
    } else if (c === '[') {
      if (rest.startsWith('[]')) fail('the empty class []');
      if (rest.startsWith('[^]')) {
        out += '[\\s\\S]';
        i += 2;
      } else {
        inClass = true;
        out += c;
      }
    } else if (c === '(' && rest.startsWith('(?')) {
      if (/^\(\?(?:=|!|<=|<!)/.test(rest)) fail('a lookaround');
      if (rest.startsWith('(?<')) {
        out += '(?P<';
        i += 2;
      } else out += c;
    } else {
      const m = c === '{' ? /^\{(\d+)(?:,(\d*))?\}/.exec(rest) : null;
      if (m && Math.max(Number(m[1]), Number(m[2] || 0)) > 1000) fail('a repetition count above 1000');
      out += c;
    }
  }
  const flags = [...'ims'].filter((f) => re.flags.includes(f)).join('');
  if (re.flags.includes('y')) out = `^(?:${out})`; // zod tests from lastIndex 0: sticky means anchored
  return flags ? `(?${flags})${out}` : out;
}

/** Allowed ranges of z.int(), z.int32() … as zod checks them. */
const NUMBER_FORMATS: Record<string, { range: [number, number]; integer: boolean; phrase: string }> = {
  safeint: { range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], integer: true, phrase: 'must be an integer' },
  int32: { range: [-2147483648, 2147483647], integer: true, phrase: 'must be a 32-bit integer' },
  uint32: { range: [0, 4294967295], integer: true, phrase: 'must be an unsigned 32-bit integer' },
  float32: { range: [-3.4028234663852886e38, 3.4028234663852886e38], integer: false, phrase: 'must be a 32-bit float' },
  float64: { range: [-Number.MAX_VALUE, Number.MAX_VALUE], integer: false, phrase: 'must be a finite number' },
};

/** The message a check was given in the schema (`.min(1, 'msg')`, `{ error: … }`), if any. */
function zodMessage(check: CheckDef): string | undefined {
  try {
    const r = check.error?.({ code: 'custom', input: undefined, path: [], ...check });
    if (typeof r === 'string') return r;
    if (r && typeof (r as { message?: unknown }).message === 'string') return (r as { message: string }).message;
  } catch {
    // an error map that needs a real issue: fall back to the generated sentence
  }
  return undefined;
}

/** A condition on `x` (HCL) for one zod check and what it means, or undefined for refinements. */
function translateCheck(c: CheckDef, x: string, base: string, path: string): { cond: string; phrase: string } | undefined {
  const have = base === 'string' ? 'be' : 'have';
  const unit = (n: number | undefined) => `${n} ${base === 'string' ? 'character' : 'element'}${n === 1 ? '' : 's'}${base === 'string' ? ' long' : ''}`;
  switch (c.check) {
    case 'custom':
      return undefined; // .refine()/.superRefine(): the caller adds these by hand
    case 'min_length':
      return { cond: `length(${x}) >= ${c.minimum}`, phrase: `must ${have} at least ${unit(c.minimum)}` };
    case 'max_length':
      return { cond: `length(${x}) <= ${c.maximum}`, phrase: `must ${have} at most ${unit(c.maximum)}` };
    case 'length_equals':
      return { cond: `length(${x}) == ${c.length}`, phrase: `must ${have} exactly ${unit(c.length)}` };
    case 'greater_than':
      return c.inclusive
        ? { cond: `${x} >= ${c.value}`, phrase: `must be at least ${c.value}` }
        : { cond: `${x} > ${c.value}`, phrase: `must be greater than ${c.value}` };
    case 'less_than':
      return c.inclusive
        ? { cond: `${x} <= ${c.value}`, phrase: `must be at most ${c.value}` }
        : { cond: `${x} < ${c.value}`, phrase: `must be less than ${c.value}` };
    case 'multiple_of':
      return { cond: `${x} % ${c.value} == 0`, phrase: `must be a multiple of ${c.value}` };
    case 'number_format': {
      const f = NUMBER_FORMATS[c.format ?? ''] ?? unsupported(path, `the number format ${c.format}`);
      const range = `${x} >= ${f.range[0]} && ${x} <= ${f.range[1]}`;
      return { cond: f.integer ? `floor(${x}) == ${x} && ${range}` : range, phrase: f.phrase };
    }
    case 'string_format': {
      if (!(c.pattern instanceof RegExp)) return unsupported(path, `the string format ${c.format}`);
      const cond = `can(regex(${hclString(toRe2(c.pattern, path))}, ${x}))`;
      const phrase =
        c.format === 'regex'
          ? `must match the pattern /${c.pattern.source}/${c.pattern.flags}`
          : c.format === 'starts_with'
            ? `must start with ${JSON.stringify(c.prefix)}`
            : c.format === 'ends_with'
              ? `must end with ${JSON.stringify(c.suffix)}`
              : c.format === 'includes'
                ? `must contain ${JSON.stringify(c.includes)}`
                : `must be a valid ${c.format}`;
      return { cond, phrase };
    }
    default:
      return unsupported(path, `the check ${c.check}`);
  }
}

const sentence = (text: string): string => (/[.?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/** Wraps a condition so that it is false, not an error, for null/missing values (HCL's `||` does not short-circuit). */
const safe = (cond: string): string => (cond.startsWith('can(') ? cond : `try(${cond}, false)`);

/**
 * Generates one Terraform validation per zod check Terraform can express, for the value at `ref`.
 * Optional values and everything under an optional object pass when absent (`try(X, null) == null || …`);
 * required properties get a "… is required." validation; list and map members are checked with
 * `alltrue([for v in coalesce(try(X, null), []) : …])`. Messages are the schema's own (prefixed with the
 * option path when they do not mention it) or generated, and always end with "." or "?".
 *
 * Refinements are ignored: Terraform cannot run them. Pass equivalents as `extraValidations` to
 * {@link terraformVariable}.
 *
 * @param schema - the options schema.
 * @param ref - HCL expression of the (non-null) value, e.g. `var.playbooks["ec2-instance"].options`.
 * @throws Error for checks Terraform cannot express (other than refinements) and non-RE2 patterns.
 * @example terraformValidations(z.object({ n: z.number().max(3) }).strict(), 'var.o')
 * // [{ condition: 'try(var.o, null) == null || try(var.o.n, null) != null', error_message: 'n is required.' },
 * //  { condition: 'try(var.o.n, null) == null || try(var.o.n <= 3, false)', error_message: 'n must be at most 3.' }]
 */
export function terraformValidations(schema: z.ZodType, ref: string): TerraformValidation[] {
  return collect(schema, ref, '', 1);
}

/** `a.b[*]` → "each element of a.b"; `{*}` is a map's values, `{key}` its keys. */
function describePath(path: string): string {
  const m = /^(.*)(\[\*\]|\{\*\}|\{key\})$/.exec(path);
  if (!m) return path || 'the value';
  return `each ${m[2] === '[*]' ? 'element' : m[2] === '{*}' ? 'value' : 'key'} of ${describePath(m[1]!)}`;
}

function collect(schema: z.ZodType, x: string, path: string, depth: number): TerraformValidation[] {
  const u = unwrap(schema);
  const d = defOf(u.schema);
  const subject = describePath(path);
  const mentioned = path.replace(/(\[\*\]|\{\*\}|\{key\})+$/, '');
  const out: TerraformValidation[] = [];
  const add = (cond: string, message: string) =>
    out.push({
      condition: `try(${x}, null) == null || ${safe(cond)}`,
      error_message: sentence(mentioned && !message.includes(mentioned) ? `${mentioned}: ${message}` : message),
    });

  for (const c of u.checks) {
    const t = translateCheck(c, x, d.type, path);
    if (t) add(t.cond, zodMessage(c) ?? `${subject} ${t.phrase}`);
  }
  if (d.type === 'enum' || d.type === 'literal') {
    const values = d.type === 'enum' ? Object.values(d.entries!) : d.values!;
    add(`contains(${hclLiteral(values)}, ${x})`, `${subject} must be ${values.length === 1 ? '' : 'one of '}${values.map((v) => JSON.stringify(v)).join(', ')}`);
  } else if (d.type === 'object') {
    for (const [key, child] of Object.entries(d.shape!)) {
      const childRef = `${x}.${key}`;
      const childPath = path ? `${path}.${key}` : key;
      if (!unwrap(child).optional) {
        out.push({ condition: `try(${x}, null) == null || try(${childRef}, null) != null`, error_message: `${childPath} is required.` });
      }
      out.push(...collect(child, childRef, childPath, depth));
    }
  } else if (d.type === 'array' || d.type === 'record') {
    // Members: checked inside `alltrue([for …])`; an absent list or map has no members to check.
    const v = depth === 1 ? 'v' : `v${depth}`;
    const empty = d.type === 'array' ? '[]' : '{}';
    const member = d.type === 'array' ? d.element! : d.valueType!;
    const each = (inner: TerraformValidation, over = `coalesce(try(${x}, null), ${empty})`, it = v) =>
      out.push({ condition: `alltrue([for ${it} in ${over} : ${inner.condition}])`, error_message: inner.error_message });
    if (!unwrap(member).nullable) {
      each({ condition: `${v} != null`, error_message: `${subject} must not contain null ${d.type === 'array' ? 'elements' : 'values'}.` });
    }
    collect(member, v, `${path}${d.type === 'array' ? '[*]' : '{*}'}`, depth + 1).forEach((inner) => each(inner));
    if (d.type === 'record') {
      const k = depth === 1 ? 'k' : `k${depth}`;
      collect(d.keyType!, k, `${path}{key}`, depth + 1).forEach((inner) => each(inner, `keys(coalesce(try(${x}, null), {}))`, k));
    }
  }
  return out;
}

/**
 * Renders a whole `variable` block: the type from {@link terraformType}, the validations from
 * {@link terraformValidations} (for `var.<name>`) followed by `extraValidations`, formatted as
 * `terraform fmt` leaves it.
 *
 * @example terraformVariable('options', schema, { description: 'EC2 options.', default: {}, nullable: false })
 */
export function terraformVariable(
  name: string,
  schema: z.ZodType,
  options: { description?: string; default?: unknown; nullable?: boolean; extraValidations?: TerraformValidation[] } = {},
): string {
  const head: Array<{ key: string; value: string }> = [];
  if (options.description !== undefined) head.push({ key: 'description', value: hclString(options.description) });
  head.push({ key: 'type', value: renderType(schema, 2, '') });
  if ('default' in options) head.push({ key: 'default', value: hclLiteral(options.default) });
  if (options.nullable !== undefined) head.push({ key: 'nullable', value: String(options.nullable) });
  const validations = [...terraformValidations(schema, `var.${name}`), ...(options.extraValidations ?? [])].map(
    (v) =>
      `\n  validation {\n${alignAttributes(
        [
          { key: 'condition', value: v.condition },
          { key: 'error_message', value: hclString(sentence(v.error_message)) },
        ],
        '    ',
      ).join('\n')}\n  }\n`,
  );
  return `variable ${hclString(name)} {\n${alignAttributes(head, '  ').join('\n')}\n${validations.join('')}}\n`;
}
