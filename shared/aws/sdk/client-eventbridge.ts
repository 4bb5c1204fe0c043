// One SDK client class (and the commands the platform sends with it), imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-eventbridge')` would keep every command of the package.
export { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
