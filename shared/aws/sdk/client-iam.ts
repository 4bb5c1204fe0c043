// One SDK client class, imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-iam')` would keep every command of the package.
export { IAMClient } from '@aws-sdk/client-iam';
