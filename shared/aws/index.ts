export { CLIENTS_OF_SERVICE, createClientFactory, createPlatformClients, loadClientsFor } from './clients.ts';
export { lazyClient, type SendOnly } from './lazy-client.ts';
export type { AccountRegion, ClientFactory, ClientOptions, Clients, PlatformClients } from './clients.ts';
export { AccountNotConfiguredError, ClientNotLoadedError, MemberRoleUnavailableError } from './errors.ts';
export { assumedRoleCredentials, memberRoleArn, memberSessionArn, roleSessionName } from './member-role.ts';
export type { AssumedRoleCredentialsOptions, MemberRoleSettings } from './member-role.ts';
export { ResponseLostError } from './errors.ts';
export { once, PATIENT_RETRY_DEFAULTS, patientRetryStrategy, type PatientRetrySettings } from './retry.ts';
