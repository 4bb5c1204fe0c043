// One SDK client class, imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-cloudtrail')` would keep every command of the package.
export { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
