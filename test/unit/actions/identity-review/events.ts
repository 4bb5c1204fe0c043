/**
 * CloudTrail records of the persistence an attacker leaves with a stolen key, shaped as CloudTrail
 * writes them (requestParameters / responseElements in lower camel case, IAM's `sSHPublicKey`,
 * Lambda's versioned `CreateFunction20150331`, secrets redacted).
 */
import { ACCOUNT_ID } from '../../helpers/factories.ts';
import { trailEvent } from './helpers.ts';

export const BACKDOOR_USER = 'svc-backup';
export const NEW_KEY = 'AKIA2BACKDOOREXAMPLE';
export const INSTANCE = 'i-0fedcba9876543210';

export const runInstances = trailEvent({
  eventName: 'RunInstances',
  eventSource: 'ec2.amazonaws.com',
  requestParameters: { instancesSet: { items: [{ imageId: 'ami-0abcdef1234567890', minCount: 1, maxCount: 1 }] }, instanceType: 'p3.8xlarge' },
  responseElements: {
    requestId: 'r-1',
    reservationId: 'r-0123456789abcdef0',
    ownerId: ACCOUNT_ID,
    instancesSet: { items: [{ instanceId: INSTANCE, imageId: 'ami-0abcdef1234567890', instanceState: { code: 0, name: 'pending' }, instanceType: 'p3.8xlarge' }] },
  },
  resources: [{ ResourceType: 'AWS::EC2::Instance', ResourceName: INSTANCE }],
});

export const createUser = trailEvent({
  eventName: 'CreateUser',
  requestParameters: { userName: BACKDOOR_USER },
  responseElements: { user: { path: '/', userName: BACKDOOR_USER, userId: 'AIDA2BACKDOOREXAMPLE', arn: `arn:aws:iam::${ACCOUNT_ID}:user/${BACKDOOR_USER}`, createDate: 'Jun 19, 2025 2:31:00 PM' } },
  resources: [{ ResourceType: 'AWS::IAM::User', ResourceName: BACKDOOR_USER }],
});

export const createAccessKey = trailEvent({
  eventName: 'CreateAccessKey',
  requestParameters: { userName: BACKDOOR_USER },
  responseElements: { accessKey: { userName: BACKDOOR_USER, accessKeyId: NEW_KEY, status: 'Active', createDate: 'Jun 19, 2025 2:31:05 PM' } },
});

export const createLoginProfile = trailEvent({
  eventName: 'CreateLoginProfile',
  requestParameters: { userName: BACKDOOR_USER, passwordResetRequired: false },
  responseElements: { loginProfile: { userName: BACKDOOR_USER, createDate: 'Jun 19, 2025 2:31:10 PM', passwordResetRequired: false } },
});

export const updateAssumeRolePolicy = trailEvent({
  eventName: 'UpdateAssumeRolePolicy',
  requestParameters: {
    roleName: 'deploy',
    policyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 'sts:AssumeRole' }] }),
  },
  responseElements: null,
});

export const createPolicyVersion = trailEvent({
  eventName: 'CreatePolicyVersion',
  requestParameters: { policyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/app-deploy`, policyDocument: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', setAsDefault: true },
  responseElements: { policyVersion: { versionId: 'v3', isDefaultVersion: true, createDate: 'Jun 19, 2025 2:32:00 PM' } },
});

export const attachUserPolicy = trailEvent({
  eventName: 'AttachUserPolicy',
  requestParameters: { userName: BACKDOOR_USER, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  responseElements: null,
});

export const uploadSshPublicKey = trailEvent({
  eventName: 'UploadSSHPublicKey',
  requestParameters: { userName: BACKDOOR_USER, sSHPublicKeyBody: 'ssh-rsa AAAAB3NzaC1yc2E… mallory@kali' },
  responseElements: { sSHPublicKey: { userName: BACKDOOR_USER, sSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', fingerprint: 'a1:b2:c3', status: 'Active', uploadDate: 'Jun 19, 2025 2:33:00 PM' } },
});

export const createServiceSpecificCredential = trailEvent({
  eventName: 'CreateServiceSpecificCredential',
  requestParameters: { userName: BACKDOOR_USER, serviceName: 'codecommit.amazonaws.com' },
  responseElements: {
    serviceSpecificCredential: { createDate: 'Jun 19, 2025 2:34:00 PM', serviceName: 'codecommit.amazonaws.com', serviceUserName: `${BACKDOOR_USER}-at-${ACCOUNT_ID}`, serviceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', userName: BACKDOOR_USER, status: 'Active' },
  },
});

export const createFunction = trailEvent({
  eventName: 'CreateFunction20150331',
  eventSource: 'lambda.amazonaws.com',
  requestParameters: { functionName: 'health-check', runtime: 'python3.12', role: `arn:aws:iam::${ACCOUNT_ID}:role/lambda-admin`, handler: 'index.handler' },
  responseElements: { functionName: 'health-check', functionArn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:health-check`, runtime: 'python3.12' },
});

export const importKeyPair = trailEvent({
  eventName: 'ImportKeyPair',
  eventSource: 'ec2.amazonaws.com',
  requestParameters: { keyName: 'ops-2025', publicKeyMaterial: '<sensitiveDataRemoved>' },
  responseElements: { requestId: 'r-2', keyName: 'ops-2025', keyFingerprint: '1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca', keyPairId: 'key-0123456789abcdef0' },
});

export const deniedListUsers = trailEvent({ eventName: 'ListUsers', readOnly: true, errorCode: 'AccessDenied' });
export const failedCreateUser = trailEvent({ eventName: 'CreateUser', requestParameters: { userName: 'other' }, errorCode: 'AccessDenied' });

export const PERSISTENCE = [
  runInstances,
  createUser,
  createAccessKey,
  createLoginProfile,
  updateAssumeRolePolicy,
  createPolicyVersion,
  attachUserPolicy,
  uploadSshPublicKey,
  createServiceSpecificCredential,
  createFunction,
  importKeyPair,
];
