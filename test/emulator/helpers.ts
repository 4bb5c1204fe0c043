/** Where the emulator tests find the emulator, and the client settings every test uses. */
export const emulatorEndpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';

export const emulatorClientConfig = {
  endpoint: emulatorEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

/** A suffix that keeps names unique when test files build resources in parallel. */
export const uniqueSuffix = (): string =>
  `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
