import { DescribeKeyPairsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { instancesWhere } from '../../actions/instances.ts';
import * as z from 'zod';
import { hasErrorCode } from '../../errors/index.ts';
import { ec2Step } from './types.ts';

/** DescribeInstances pages: enough for any fleet that shares one key pair. */
const PAGE_SIZE = 1000;

/** What recordKeyPair records: the key, what EC2 still knows of it, who else trusts it, and the rotation to do. */
const KeyPairSchema = z.object({
  keyName: z.string(),
  fingerprint: z.string().optional(),
  keyPairId: z.string().optional(),
  keyType: z.string().optional(),
  stillInEc2: z.boolean(),
  otherInstances: z.array(z.string()),
  recommendation: z.string(),
});

/**
 * The instance's launch key pair is credentials too: anyone holding the private key can log
 * in to every instance launched with it, and deleting the key pair in EC2 removes nothing
 * from those instances' `authorized_keys`. Record which key, its fingerprint, and who else
 * trusts it, and recommend the rotation — deleting or rotating keys is a decision for people
 * who know which systems depend on it.
 */
export const recordKeyPair = ec2Step({
  name: 'recordKeyPair',
  stage: 'evidence',
  description: "Record the instance's launch key pair, its fingerprint and every other instance launched with it, and recommend rotating it",
  iamActions: ['ec2:DescribeKeyPairs', 'ec2:DescribeInstances'],
  data: KeyPairSchema,
  async run({ clients, resource }) {
    if (!resource.keyName) return { status: 'skipped', summary: `${resource.instanceId} was launched without a key pair` };
    const keyName = resource.keyName;
    const [pair, sharers] = await Promise.all([
      clients.ec2.send(new DescribeKeyPairsCommand({ KeyNames: [keyName] })).then(
        (out) => out.KeyPairs?.[0],
        (error: unknown) => {
          // Deleting a key pair in EC2 leaves it on the instances; the name is still the lead.
          if (hasErrorCode(error, 'InvalidKeyPair.NotFound')) return undefined;
          throw error;
        },
      ),
      otherInstancesWithKey(clients.ec2, keyName, resource.instanceId),
    ]);
    const fingerprint = pair?.KeyFingerprint;
    const recommendation =
      `Treat the private key of "${keyName}" as compromised: create a new key pair, replace the public key in ~/.ssh/authorized_keys on ` +
      `${sharers.length ? `${sharers.length} other instance(s) launched with it (${sharers.slice(0, 20).join(', ')}${sharers.length > 20 ? ', …' : ''})` : 'every instance that trusts it'}` +
      ' (deleting the key pair in EC2 removes nothing from the instances), then delete the old key pair. Review sshd logs for logins with it.';
    return {
      status: 'done',
      summary: `key pair ${keyName}${fingerprint ? ` (fingerprint ${fingerprint})` : ' (no longer in EC2)'} is also on ${sharers.length} other instance(s); rotation recommended`,
      data: {
        keyName,
        ...(fingerprint ? { fingerprint } : {}),
        ...(pair?.KeyPairId ? { keyPairId: pair.KeyPairId } : {}),
        ...(pair?.KeyType ? { keyType: pair.KeyType } : {}),
        stillInEc2: Boolean(pair),
        otherInstances: sharers,
        recommendation,
      },
    };
  },
});

/** Every other instance launched with the key pair (stopped ones too: they trust it when started). */
async function otherInstancesWithKey(ec2: EC2Client, keyName: string, instanceId: string): Promise<string[]> {
  const filters = [
    { Name: 'key-name', Values: [keyName] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
  ];
  const instances = await instancesWhere(ec2, filters, PAGE_SIZE);
  return instances.flatMap((i) => (i.InstanceId && i.InstanceId !== instanceId ? [i.InstanceId] : [])).sort();
}
