export { createClientFactory, createPlatformClients } from './clients.ts';
export type { AccountRegion, ClientFactory, ClientOptions, Clients, PlatformClients } from './clients.ts';
