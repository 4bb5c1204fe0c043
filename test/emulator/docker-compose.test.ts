import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Service = {
  image?: string;
  profiles?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  healthcheck?: { test?: string[]; start_period?: string };
};

const composePath = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const compose = parse(readFileSync(composePath, 'utf8')) as { services: Record<string, Service> };

describe('Emulator: docker-compose.yml', () => {
  const emulator = compose.services.emulator;
  const localstack = compose.services.localstack;

  it('runs the patched launcher in a Python image with moto[server]==5.2.5 by default', () => {
    // Assess
    expect(emulator).toBeDefined();
    expect(emulator!.profiles).toBeUndefined();
    expect(emulator!.image).toMatch(/^python:3\.\d+-slim$/);
    expect(emulator!.volumes).toContainEqual(expect.stringMatching(/^\.\/scripts\/emulator:[^:]+:ro$/));
    const command = emulator!.command!.join(' ');
    expect(command).toContain("'moto[server]==5.2.5'");
    expect(command).toContain('scripts/emulator/launch.py');
    expect(emulator!.environment).toMatchObject({ FIREBREAK_EMULATOR_HOST: '0.0.0.0', FIREBREAK_EMULATOR_PORT: '4566' });
  });

  it('publishes port 4566 on the loopback interface only', () => {
    // Assess
    expect(emulator!.ports).toEqual(['127.0.0.1:4566:4566']);
  });

  it('reports healthy only when the server answers as the patched Firebreak emulator', () => {
    // Assess
    const test = emulator!.healthcheck!.test!.join(' ');
    expect(test).toContain('/firebreak/emulator');
    expect(test).toContain("['firebreak'] is True");
  });

  it('keeps LocalStack behind the opt-in "localstack" profile', () => {
    // Assess
    expect(localstack).toBeDefined();
    expect(localstack!.profiles).toEqual(['localstack']);
    expect(localstack!.image).toMatch(/^localstack\/localstack/);
    expect(localstack!.ports).toContainEqual(expect.stringMatching(/^127\.0\.0\.1:/));
  });

  it('refuses to start LocalStack without LOCALSTACK_AUTH_TOKEN, without breaking the default profile', () => {
    // Assess
    expect(localstack!.environment!.LOCALSTACK_AUTH_TOKEN).toBe('${LOCALSTACK_AUTH_TOKEN:-}');
    const entrypoint = localstack!.entrypoint!.join(' ');
    expect(entrypoint).toMatch(/if \[ -z "\$\$\{LOCALSTACK_AUTH_TOKEN\}" \]; then .* exit 1; fi;/);
    expect(entrypoint).toContain('exec docker-entrypoint.sh');
    // Compose interpolates every service before applying profiles: a `${VAR:?}` anywhere
    // would make `docker compose up` fail for users of the default profile.
    expect(JSON.stringify(compose)).not.toMatch(/\$\{[A-Z_]+:\?/);
  });
});
