// One SDK client class, imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-secrets-manager')` would keep every command of the package.
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
