// One SDK client class (and the commands the platform sends with it), imported by itself: a dynamic import of this module is a chunk holding the
// client and what it needs, where `import('@aws-sdk/client-s3')` would keep every command of the package.
export { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
