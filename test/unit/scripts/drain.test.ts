import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaMessageAttributes, serviceRoleCredentials, unpackBundle, unzipEntries } from '../../../scripts/lib/drain.ts';
import { writeReproducibleZip } from '../../../scripts/lib/zip.ts';

const ROLE = 'arn:aws:iam::123456789012:role/firebreak-ec2-instance';

/** A fetch that records what it was asked and answers with a status and a body. */
function fakeFetch(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as typeof fetch;
  return { calls, impl };
}

describe('local drain: a function runs as its execution role', () => {
  it('asks the emulator for the role\'s credentials as Lambda, with the function name as session name', async () => {
    // Prepare
    const fetch = fakeFetch(200, { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', AssumedRoleId: 'AROAEXAMPLE:firebreak-ec2-instance' });

    // Act
    const credentials = await serviceRoleCredentials('http://127.0.0.1:4566/', ROLE, 'firebreak-ec2-instance', undefined, fetch.impl);

    // Assess
    expect(credentials).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', assumedRoleId: 'AROAEXAMPLE:firebreak-ec2-instance' });
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]!.url).toBe('http://127.0.0.1:4566/firebreak/service-credentials');
    expect(fetch.calls[0]!.init?.method).toBe('POST');
    expect(JSON.parse(String(fetch.calls[0]!.init?.body))).toEqual({ roleArn: ROLE, service: 'lambda.amazonaws.com', sessionName: 'firebreak-ec2-instance' });
  });

  it('refuses to run a function whose role does not trust Lambda, saying why', async () => {
    // Prepare
    const fetch = fakeFetch(403, { error: `lambda.amazonaws.com is not trusted by the trust policy of ${ROLE}` });

    // Act
    const run = serviceRoleCredentials('http://127.0.0.1:4566', ROLE, 'firebreak-ec2-instance', undefined, fetch.impl);

    // Assess
    await expect(run).rejects.toThrow(`lambda.amazonaws.com may not assume ${ROLE} for firebreak-ec2-instance: {"error":"lambda.amazonaws.com is not trusted by the trust policy of ${ROLE}"}`);
  });

  it('says to start Firebreak\'s emulator when the endpoint is a plain moto_server', async () => {
    // Prepare
    const fetch = fakeFetch(404, 'Not Found');

    // Act
    const run = serviceRoleCredentials('http://127.0.0.1:4566', ROLE, 'firebreak-ec2-instance', undefined, fetch.impl);

    // Assess
    await expect(run).rejects.toThrow(/does not mint role credentials .*make emulator/);
  });
});

describe('local drain: the functions may talk to another endpoint than the drain', () => {
  it('gives the functions the fault proxy as AWS_ENDPOINT_URL, and the emulator otherwise', async () => {
    const { functionEndpointOf } = await import('../../../scripts/lib/drain.ts');
    expect(functionEndpointOf({ endpoint: 'http://127.0.0.1:4566', functionEndpoint: 'http://127.0.0.1:4672' })).toBe('http://127.0.0.1:4672');
    expect(functionEndpointOf({ endpoint: 'http://127.0.0.1:4566' })).toBe('http://127.0.0.1:4566');
  });
});

describe('local drain: an SQS event as Lambda builds it', () => {
  it('passes message attributes as Lambda does (stringValue, dataType), so a follow-up finds its id', () => {
    // Act
    const attributes = lambdaMessageAttributes({
      'firebreak-follow-up': { DataType: 'String', StringValue: 'fu-1' },
      blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
    });

    // Assess
    expect(attributes).toEqual({
      'firebreak-follow-up': { stringValue: 'fu-1', stringListValues: [], binaryListValues: [], dataType: 'String' },
      blob: { binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
    });
    expect(lambdaMessageAttributes(undefined)).toEqual({});
  });
});

describe('local drain: a function runs its whole bundle', () => {
  it('unpacks every file of a split bundle (index.mjs and its chunks) as Lambda unpacks the package', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-unpack-'));
    const zipPath = join(dir, 'fn.zip');
    const files = [
      { name: 'index.mjs', data: Buffer.from("import { x } from './chunks/chunk-A.mjs'; export const handler = () => x;") },
      { name: 'chunks/chunk-A.mjs', data: Buffer.from('export const x = 1;'.repeat(50)) },
      { name: 'chunks/later-B.mjs', data: Buffer.from('export const later = 2;') },
    ];
    await writeReproducibleZip(zipPath, files);
    const zip = await readFile(zipPath);

    try {
      // Act
      const entry = await unpackBundle(zip, join(dir, 'bundle'));
      const again = await unpackBundle(zip, join(dir, 'bundle'));

      // Assess
      expect(unzipEntries(zip).map((e) => e.name)).toEqual(['chunks/chunk-A.mjs', 'chunks/later-B.mjs', 'index.mjs']);
      expect(entry).toBe(join(dir, 'bundle', 'index.mjs'));
      expect(again).toBe(entry);
      for (const f of files) expect(readFileSync(join(dir, 'bundle', f.name))).toEqual(f.data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a zip without index.mjs, leaving nothing behind', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-unpack-'));
    await writeReproducibleZip(join(dir, 'no-entry.zip'), [{ name: 'chunks/a.mjs', data: Buffer.from('') }]);

    try {
      // Act
      const noEntry = unpackBundle(await readFile(join(dir, 'no-entry.zip')), join(dir, 'a'));

      // Assess
      await expect(noEntry).rejects.toThrow("index.mjs not found in the function's zip");
      expect(readdirSync(dir)).toEqual(['no-entry.zip']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
