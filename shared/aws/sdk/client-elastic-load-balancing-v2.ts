// One SDK client class, imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-elastic-load-balancing-v2')` would keep every command of the package.
export { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
