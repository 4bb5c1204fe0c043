export { createClientFactory, createPlatformClients } from './clients.ts';
export type { ClientFactory, ClientOptions, Clients, PlatformClients, Target } from './clients.ts';
