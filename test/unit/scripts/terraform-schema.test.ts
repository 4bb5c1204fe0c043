import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { terraformAccepts, terraformFmtDiff } from '../../../scripts/lib/terraform-parity.ts';
import { hclLiteral, hclString, terraformType, terraformValidations, terraformVariable, toRe2 } from '../../../scripts/lib/terraform-schema.ts';

/** Mirrors the EC2 playbook's options. */
const ec2Options = z
  .object({
    forensics: z
      .object({
        instance_id: z
          .string()
          .regex(/^i-[0-9a-f]{8,17}$/, 'forensics.instance_id must be an instance id (i-…)')
          .optional(),
        launch: z
          .object({
            ami_id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'forensics.launch.ami_id must be an AMI id (ami-…)'),
            subnet_id: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'forensics.launch.subnet_id must be a subnet id (subnet-…)'),
            instance_type: z
              .string()
              .regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'forensics.launch.instance_type must be an instance type such as m5.large')
              .default('m5.large'),
            security_group_ids: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/)).default([]),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    online_capture: z
      .object({
        enabled: z.boolean().default(false),
        memory_capture_command: z.string().min(1).max(4096).optional(),
        wait_seconds: z.number().int().min(0).max(30).default(10),
      })
      .strict()
      .default({ enabled: false, wait_seconds: 10 }),
    malware_scan: z.boolean().default(true),
  })
  .strict();

/** What shared/config does to Terraform's jsonencode output before parsing: null properties are absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

const conditions = (schema: z.ZodType, ref = 'var.o') => terraformValidations(schema, ref).map((v) => v.condition);
const messages = (schema: z.ZodType, ref = 'var.o') => terraformValidations(schema, ref).map((v) => v.error_message);

describe('Function: terraformType', () => {
  it.each([
    ['z.string()', z.string(), 'string'],
    ['z.enum()', z.enum(['a', 'b']), 'string'],
    ['z.literal(string)', z.literal('x'), 'string'],
    ['z.literal(number)', z.literal(3), 'number'],
    ['z.number()', z.number(), 'number'],
    ['z.number().int()', z.number().int(), 'number'],
    ['z.int()', z.int(), 'number'],
    ['z.boolean()', z.boolean(), 'bool'],
    ['nullable', z.string().nullable(), 'string'],
    ['z.array()', z.array(z.string()), 'list(string)'],
    ['z.record()', z.record(z.string(), z.array(z.number())), 'map(list(number))'],
    ['a transform (input side)', z.string().transform((s) => s.length), 'string'],
    ['z.preprocess (output side)', z.preprocess((v) => v, z.number()), 'number'],
    ['a refinement (inner type)', z.string().refine((s) => s !== 'x'), 'string'],
    ['readonly', z.array(z.boolean()).readonly(), 'list(bool)'],
    ['an empty object', z.object({}).strict(), 'object({})'],
  ])('renders %s', (_name, schema, expected) => {
    // Prepare: the schema above
    // Act
    const type = terraformType(schema);

    // Assess
    expect(type).toBe(expected);
  });

  it('renders optional and defaulted properties with their defaults as HCL literals', () => {
    // Prepare
    const schema = z
      .object({
        name: z.string().optional(),
        greeting: z.string().default('hi "${you}"'),
        ids: z.array(z.string()).default([]),
        capture: z.object({ enabled: z.boolean(), wait: z.number() }).strict().default({ enabled: false, wait: 10 }),
        tags: z.record(z.string(), z.string()).default({ 'team-name': 'ir', null: 'x' }),
        level: z.enum(['low', 'high']).nullable().optional(),
      })
      .strict();

    // Act
    const type = terraformType(schema);

    // Assess
    expect(type).toBe(
      [
        'object({',
        '  name     = optional(string)',
        '  greeting = optional(string, "hi \\"$${you}\\"")',
        '  ids      = optional(list(string), [])',
        '  capture = optional(object({',
        '    enabled = bool',
        '    wait    = number',
        '  }), { enabled = false, wait = 10 })',
        '  tags  = optional(map(string), { team-name = "ir", "null" = "x" })',
        '  level = optional(string)',
        '})',
      ].join('\n'),
    );
  });

  it('renders the EC2 options with nested optional objects, as terraform fmt lays them out', () => {
    // Prepare: ec2Options
    // Act
    const type = terraformType(ec2Options);

    // Assess
    expect(type).toBe(
      [
        'object({',
        '  forensics = optional(object({',
        '    instance_id = optional(string)',
        '    launch = optional(object({',
        '      ami_id             = string',
        '      subnet_id          = string',
        '      instance_type      = optional(string, "m5.large")',
        '      security_group_ids = optional(list(string), [])',
        '    }))',
        '  }))',
        '  online_capture = optional(object({',
        '    enabled                = optional(bool, false)',
        '    memory_capture_command = optional(string)',
        '    wait_seconds           = optional(number, 10)',
        '  }), { enabled = false, wait_seconds = 10 })',
        '  malware_scan = optional(bool, true)',
        '})',
      ].join('\n'),
    );
  });

  it('rejects objects that accept unknown keys, since Terraform would silently drop them', () => {
    // Prepare
    const stripping = z.object({ a: z.object({ b: z.string() }) }).strict();
    const passthrough = z.object({ a: z.string() }).passthrough();

    // Act
    const render = (s: z.ZodType) => () => terraformType(s);

    // Assess
    expect(render(stripping)).toThrow('a: an object that is not .strict() cannot be expressed in Terraform');
    expect(render(passthrough)).toThrow('(root): an object that is not .strict()');
  });

  it.each([
    ['a union', z.object({ a: z.union([z.string(), z.number()]) }).strict(), 'a: z.union() cannot be expressed'],
    ['a record with enum keys', z.record(z.enum(['a']), z.string()), 'a record whose keys are not z.string()'],
    ['an enum of mixed values', z.literal(['a', 1]), 'an enum/literal of string and number values'],
    ['an attribute name HCL cannot declare', z.object({ 'a.b': z.string() }).strict(), 'a.b: the attribute name "a.b"'],
  ])('rejects %s', (_name, schema, message) => {
    // Prepare: the schema above
    // Act
    const render = () => terraformType(schema);

    // Assess
    expect(render).toThrow(message);
  });
});

describe('Function: hclString', () => {
  it('escapes backslashes, quotes, control characters and template sequences', () => {
    // Prepare
    const text = 'a"b\\c ${d} %{e} $x %y\n\t\u0001';

    // Act
    const hcl = hclString(text);

    // Assess
    expect(hcl).toBe('"a\\"b\\\\c $${d} %%{e} $x %y\\n\\t\\u0001"');
  });
});

describe('Function: hclLiteral', () => {
  it('renders JSON values on one line, quoting keys that are not plain identifiers', () => {
    // Prepare
    const value = { a: [1, 2.5, 'x'], 'b-c': null, 'd e': true, for: {}, list: [] };

    // Act
    const hcl = hclLiteral(value);

    // Assess
    expect(hcl).toBe('{ a = [1, 2.5, "x"], b-c = null, "d e" = true, "for" = {}, list = [] }');
  });
});

describe('Function: toRe2', () => {
  it.each([
    ['plain patterns unchanged', /^sg-[0-9a-f]{8,17}$/, '^sg-[0-9a-f]{8,17}$'],
    ['flags as inline flags', /^ami-/im, '(?im)^ami-'],
    ['named groups in RE2 syntax', /^(?<kind>i|ami)-\d+$/, '^(?P<kind>i|ami)-\\d+$'],
    ['\\u escapes as \\x{…}', /^\u00e9\u{1F600}$/u, '^\\x{e9}\\x{1f600}$'],
    ['[^] as any character', /^[^]*$/, '^[\\s\\S]*$'],
    ['[\\b] as a backspace and [ in a class as a literal', /[\b[:]/, '[\\x08\\[:]'],
    ['the sticky flag as an anchor', /a|b/y, '^(?:a|b)'],
    ['a NUL escape', /\0/, '\\x00'],
  ])('translates %s', (_name, re, expected) => {
    // Prepare: the regex above
    // Act
    const re2 = toRe2(re);

    // Assess
    expect(re2).toBe(expected);
  });

  it.each([
    ['a lookahead', /^(?=a)a$/, 'a lookaround'],
    ['a negative lookbehind', /(?<!a)b/, 'a lookaround'],
    ['a backreference', /(a)\1/, 'a backreference'],
    ['a named backreference', /(?<x>a)\k<x>/, 'a backreference'],
    ['a control escape', /\cA/, 'the escape \\c'],
    ['the v flag', new RegExp('[a--b]', 'v'), 'the v flag'],
    ['a large repetition count', /a{1001}/, 'a repetition count above 1000'],
    ['a script property', /\p{Script=Greek}/u, 'the property escape'],
  ])('rejects %s', (_name, re, what) => {
    // Prepare: the regex above
    // Act
    const translate = () => toRe2(re, 'forensics.launch.ami_id');

    // Assess
    expect(translate).toThrow(`forensics.launch.ami_id: /${re.source}/${re.flags} uses ${what}`);
  });
});

describe('Function: terraformValidations', () => {
  it('turns a regex into a guarded can(regex()) with the schema message as a sentence', () => {
    // Prepare
    const schema = z.object({ ami_id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'ami_id must be an AMI id (ami-…)').optional() }).strict();

    // Act
    const validations = terraformValidations(schema, 'var.playbooks["ec2-instance"].options');

    // Assess
    expect(validations).toEqual([
      {
        condition:
          'try(var.playbooks["ec2-instance"].options.ami_id, null) == null || can(regex("^ami-[0-9a-f]{8,17}$", var.playbooks["ec2-instance"].options.ami_id))',
        error_message: 'ami_id must be an AMI id (ami-…).',
      },
    ]);
  });

  it('escapes the pattern for an HCL string', () => {
    // Prepare
    const schema = z.object({ label: z.string().regex(/^[${%{}"\\a-z]+\.$/) }).strict();

    // Act
    const [, regex] = conditions(schema);

    // Assess
    expect(regex).toBe('try(var.o.label, null) == null || can(regex("^[$${%%{}\\"\\\\\\\\a-z]+\\\\.$", var.o.label))');
  });

  it('throws at generation time for a pattern RE2 cannot run, naming the option', () => {
    // Prepare
    const schema = z.object({ launch: z.object({ ami_id: z.string().regex(/^ami-(?!0+$)[0-9a-f]+$/) }).strict() }).strict();

    // Act
    const generate = () => terraformValidations(schema, 'var.o');

    // Assess
    expect(generate).toThrow(/launch\.ami_id: .* uses a lookaround, which Terraform's regex\(\) \(RE2\) does not support/);
  });

  it('generates length, range, integer and enum checks with sentences naming the option path', () => {
    // Prepare
    const schema = z
      .object({
        cmd: z.string().min(1).max(4096),
        wait: z.number().int().min(0).max(30),
        ratio: z.number().gt(0).lt(1),
        step: z.number().multipleOf(5),
        mode: z.enum(['report', 'contain']),
        ids: z.array(z.string()).min(1).max(1),
      })
      .strict();

    // Act
    const validations = terraformValidations(schema, 'var.o').filter((v) => !v.error_message.endsWith('is required.'));

    // Assess
    expect(validations).toEqual([
      { condition: 'try(var.o.cmd, null) == null || try(length(var.o.cmd) >= 1, false)', error_message: 'cmd must be at least 1 character long.' },
      { condition: 'try(var.o.cmd, null) == null || try(length(var.o.cmd) <= 4096, false)', error_message: 'cmd must be at most 4096 characters long.' },
      {
        condition: 'try(var.o.wait, null) == null || try(floor(var.o.wait) == var.o.wait && var.o.wait >= -9007199254740991 && var.o.wait <= 9007199254740991, false)',
        error_message: 'wait must be an integer.',
      },
      { condition: 'try(var.o.wait, null) == null || try(var.o.wait >= 0, false)', error_message: 'wait must be at least 0.' },
      { condition: 'try(var.o.wait, null) == null || try(var.o.wait <= 30, false)', error_message: 'wait must be at most 30.' },
      { condition: 'try(var.o.ratio, null) == null || try(var.o.ratio > 0, false)', error_message: 'ratio must be greater than 0.' },
      { condition: 'try(var.o.ratio, null) == null || try(var.o.ratio < 1, false)', error_message: 'ratio must be less than 1.' },
      { condition: 'try(var.o.step, null) == null || try(var.o.step % 5 == 0, false)', error_message: 'step must be a multiple of 5.' },
      { condition: 'try(var.o.mode, null) == null || try(contains(["report", "contain"], var.o.mode), false)', error_message: 'mode must be one of "report", "contain".' },
      { condition: 'try(var.o.ids, null) == null || try(length(var.o.ids) >= 1, false)', error_message: 'ids must have at least 1 element.' },
      { condition: 'try(var.o.ids, null) == null || try(length(var.o.ids) <= 1, false)', error_message: 'ids must have at most 1 element.' },
      { condition: 'alltrue([for v in coalesce(try(var.o.ids, null), []) : v != null])', error_message: 'ids must not contain null elements.' },
    ]);
  });

  it('requires required properties only when their optional parent is present', () => {
    // Prepare
    const schema = z.object({ launch: z.object({ ami_id: z.string(), type: z.string().default('m5.large') }).strict().optional() }).strict();

    // Act
    const validations = terraformValidations(schema, 'var.o');

    // Assess
    expect(validations).toEqual([{ condition: 'try(var.o.launch, null) == null || try(var.o.launch.ami_id, null) != null', error_message: 'launch.ami_id is required.' }]);
  });

  it('checks list and map members with alltrue over coalesce(try(…), …), nesting iterator names', () => {
    // Prepare
    const schema = z
      .object({
        groups: z.array(z.array(z.string().regex(/^sg-/))).optional(),
        tags: z.record(z.string().max(128), z.string().nullable()).optional(),
      })
      .strict();

    // Act
    const result = terraformValidations(schema, 'var.o');

    // Assess
    expect(result).toEqual([
      { condition: 'alltrue([for v in coalesce(try(var.o.groups, null), []) : v != null])', error_message: 'groups must not contain null elements.' },
      {
        condition: 'alltrue([for v in coalesce(try(var.o.groups, null), []) : alltrue([for v2 in coalesce(try(v, null), []) : v2 != null])])',
        error_message: 'each element of groups must not contain null elements.',
      },
      {
        condition:
          'alltrue([for v in coalesce(try(var.o.groups, null), []) : alltrue([for v2 in coalesce(try(v, null), []) : try(v2, null) == null || can(regex("^sg-", v2))])])',
        error_message: 'each element of each element of groups must match the pattern /^sg-/.',
      },
      {
        condition: 'alltrue([for k in keys(coalesce(try(var.o.tags, null), {})) : try(k, null) == null || try(length(k) <= 128, false)])',
        error_message: 'each key of tags must be at most 128 characters long.',
      },
    ]);
  });

  it('prefixes schema messages that do not name the option, and keeps a final "?"', () => {
    // Prepare
    const schema = z
      .object({
        wait: z.number().max(30, 'too long').optional(),
        mode: z.string().regex(/^a$/, { error: 'did you mean "a"?' }).optional(),
        kind: z.string().regex(/^b$/, 'kind must be "b"').optional(),
      })
      .strict();

    // Act
    const result = messages(schema);

    // Assess
    expect(result).toEqual(['wait: too long.', 'mode: did you mean "a"?', 'kind must be "b".']);
  });

  it('ignores refinements, which the caller must translate by hand', () => {
    // Prepare
    const schema = z
      .object({ a: z.string().refine((s) => s !== 'x', 'not x').optional() })
      .strict()
      .superRefine(() => undefined);

    // Act
    const result = terraformValidations(schema, 'var.o');

    // Assess
    expect(result).toEqual([]);
  });

  it.each([
    ['.trim()', z.string().trim(), 'the check overwrite'],
    ['z.url()', z.url(), 'the string format url'],
  ])('throws for %s', (_name, field, what) => {
    // Prepare
    const schema = z.object({ field }).strict();

    // Act
    const generate = () => terraformValidations(schema, 'var.o');

    // Assess
    expect(generate).toThrow(`field: ${what} cannot be expressed in Terraform`);
  });
});

describe('Function: terraformVariable', () => {
  it('renders the block with type, default, nullable, generated and extra validations', () => {
    // Prepare
    const schema = z.object({ n: z.number().max(3).optional() }).strict();

    // Act
    const hcl = terraformVariable('options', schema, {
      description: 'Options.',
      default: {},
      nullable: false,
      extraValidations: [{ condition: 'true', error_message: 'never fails' }],
    });

    // Assess
    expect(hcl).toBe(
      [
        'variable "options" {',
        '  description = "Options."',
        '  type = object({',
        '    n = optional(number)',
        '  })',
        '  default  = {}',
        '  nullable = false',
        '',
        '  validation {',
        '    condition     = try(var.options.n, null) == null || try(var.options.n <= 3, false)',
        '    error_message = "n must be at most 3."',
        '  }',
        '',
        '  validation {',
        '    condition     = true',
        '    error_message = "never fails."',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
});

describe('Function: terraformAccepts', () => {
  const hcl = terraformVariable('options', ec2Options, { default: {}, nullable: false });
  const launch = { ami_id: 'ami-0123456789abcdef0', subnet_id: 'subnet-01234567' };

  it('generates HCL that terraform fmt -check accepts', async () => {
    // Prepare: hcl
    // Act
    const diff = await terraformFmtDiff(hcl);

    // Assess
    expect(diff).toBe('');
  }, 120_000);

  it('makes terraform plan accept exactly the EC2 options zod accepts', async () => {
    // Prepare
    const cases: Array<{ name: string; value: unknown }> = [
      { name: 'all absent', value: {} },
      { name: 'null options (nullable = false: the default)', value: null },
      {
        name: 'everything set',
        value: {
          forensics: { instance_id: 'i-0123456789abcdef0', launch: { ...launch, instance_type: 't3.micro', security_group_ids: ['sg-01234567', 'sg-89abcdef'] } },
          online_capture: { enabled: true, memory_capture_command: 'avml /tmp/mem.lime', wait_seconds: 30 },
          malware_scan: false,
        },
      },
      { name: 'forensics without launch', value: { forensics: { instance_id: 'i-01234567' } } },
      { name: 'forensics empty', value: { forensics: {} } },
      { name: 'forensics null', value: { forensics: null } },
      { name: 'launch with its required keys only', value: { forensics: { launch } } },
      { name: 'bad instance_id', value: { forensics: { instance_id: 'i-XYZ' } } },
      { name: 'launch missing ami_id', value: { forensics: { launch: { subnet_id: launch.subnet_id } } } },
      { name: 'launch ami_id null', value: { forensics: { launch: { ...launch, ami_id: null } } } },
      { name: 'bad ami_id', value: { forensics: { launch: { ...launch, ami_id: 'ami-1' } } } },
      { name: 'bad instance_type', value: { forensics: { launch: { ...launch, instance_type: 'large' } } } },
      { name: 'bad security group', value: { forensics: { launch: { ...launch, security_group_ids: ['sg-01234567', 'default'] } } } },
      { name: 'null security group', value: { forensics: { launch: { ...launch, security_group_ids: [null] } } } },
      { name: 'security groups null (default)', value: { forensics: { launch: { ...launch, security_group_ids: null } } } },
      { name: 'online_capture empty', value: { online_capture: {} } },
      { name: 'online_capture null', value: { online_capture: null } },
      { name: 'wait_seconds 0', value: { online_capture: { wait_seconds: 0 } } },
      { name: 'wait_seconds too big', value: { online_capture: { wait_seconds: 31 } } },
      { name: 'wait_seconds negative', value: { online_capture: { wait_seconds: -1 } } },
      { name: 'wait_seconds fractional', value: { online_capture: { wait_seconds: 2.5 } } },
      { name: 'empty command', value: { online_capture: { memory_capture_command: '' } } },
      { name: 'command too long', value: { online_capture: { memory_capture_command: 'x'.repeat(4097) } } },
      { name: 'command at max length', value: { online_capture: { memory_capture_command: 'x'.repeat(4096) } } },
      { name: 'enabled null (default)', value: { online_capture: { enabled: null } } },
      { name: 'malware_scan not a bool', value: { malware_scan: 'yes' } },
      { name: 'launch not an object', value: { forensics: { launch: 'ami-01234567' } } },
    ];

    // Act
    const started = performance.now();
    const accepted = await terraformAccepts(hcl, cases);
    const seconds = (performance.now() - started) / 1000;

    // Assess
    const expected = Object.fromEntries(cases.map((c) => [c.name, ec2Options.safeParse(withoutNulls(c.value) ?? {}).success]));
    const agreed = Object.fromEntries(Object.entries(accepted).map(([name, r]) => [name, r === true]));
    expect(agreed).toEqual(expected);
    expect(accepted['bad ami_id']).toBe('forensics.launch.ami_id must be an AMI id (ami-…).');
    expect(accepted['launch ami_id null']).toBe('forensics.launch.ami_id is required.');
    expect(accepted['null security group']).toBe('forensics.launch.security_group_ids must not contain null elements.');
    expect(accepted['wait_seconds fractional']).toBe('online_capture.wait_seconds must be an integer.');
    expect(accepted['launch missing ami_id']).toMatch(/^Invalid value for input variable: .*attribute "ami_id" is required/);
    console.info(`terraformAccepts: ${cases.length} cases in ${seconds.toFixed(1)} s`);
  }, 120_000);

  it('documents where Terraform is more lenient than zod: unknown keys are dropped, primitives converted', async () => {
    // Prepare
    const cases = [
      { name: 'unknown key', value: { malware_scanning: false } },
      { name: 'number as string', value: { online_capture: { wait_seconds: '10' } } },
      { name: 'bool as string', value: { malware_scan: 'false' } },
    ];

    // Act
    const accepted = await terraformAccepts(hcl, cases);

    // Assess: Terraform accepts (and passes the functions the converted, well-typed value); zod alone rejects
    expect(accepted).toEqual({ 'unknown key': true, 'number as string': true, 'bool as string': true });
    expect(cases.map((c) => ec2Options.safeParse(c.value).success)).toEqual([false, false, false]);
  }, 120_000);

  it('round-trips regex escaping and error messages through Terraform', async () => {
    // Prepare
    const schema = z.object({ label: z.string().regex(/^[${%{}"\\a-z]+\.$/).optional() }).strict();
    const variable = terraformVariable('options', schema, { default: {}, nullable: false });
    const cases = [
      { name: 'template sequences', value: { label: 'a${b}%{c}.' } },
      { name: 'quote and backslash', value: { label: 'a"b\\c.' } },
      { name: 'upper case', value: { label: 'ABC.' } },
      { name: 'no final dot', value: { label: 'abc' } },
    ];

    // Act
    const accepted = await terraformAccepts(variable, cases);

    // Assess
    const message = terraformValidations(schema, 'var.options')[0]!.error_message;
    expect(message).toBe('label must match the pattern /^[${%{}"\\\\a-z]+\\.$/.');
    expect(accepted).toEqual({ 'template sequences': true, 'quote and backslash': true, 'upper case': message, 'no final dot': message });
    expect(cases.map((c) => schema.safeParse(c.value).success)).toEqual([true, true, false, false]);
  }, 120_000);
});
