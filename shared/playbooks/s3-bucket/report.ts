import { DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { GetBucketPolicyStatusCommand } from '@aws-sdk/client-s3';
import { ListAccessPointsCommand } from '@aws-sdk/client-s3-control';
import * as z from 'zod';
import { classifyError, hasErrorCode } from '../../errors/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { blockAccountPublicAccess, enforceBucketOwnership, removePublicPolicyStatements } from './containment.ts';
import { publicGrants, readBucketPolicy, readBucketPublicAccessBlock, readObjectOwnership, PublicAccessBlockSchema } from './describe.ts';
import { actorOf, assessSourceAuthorisation } from './investigation.ts';
import { s3Step } from './types.ts';

export const BucketReportDataSchema = z.object({
  /** The bucket as it is after containment. */
  state: z.object({
    publicAccessBlock: PublicAccessBlockSchema.nullable(),
    objectOwnership: z.string().nullable(),
    hasPolicy: z.boolean(),
    policyIsPublic: z.boolean().optional(),
  }),
  accessPoints: z.array(z.object({ name: z.string(), networkOrigin: z.string().optional(), vpcId: z.string().optional() })).optional(),
  vpcEndpoints: z.array(z.object({ id: z.string(), vpcId: z.string().optional(), fullAccessPolicy: z.boolean() })).optional(),
  /** What could not be looked at, and why. */
  unavailable: z.array(z.string()).default([]),
  recommendations: z.array(z.string()),
});

/** True when an endpoint policy allows every principal every action (the default "full access" policy). */
function fullAccess(policy: string | undefined): boolean {
  if (!policy) return true;
  try {
    const doc = JSON.parse(policy) as { Statement?: unknown };
    const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]) as Array<Record<string, unknown>>;
    return statements.some((s) => s?.Effect === 'Allow' && (s.Principal === '*' || JSON.stringify(s.Principal) === '{"AWS":"*"}') && [s.Action].flat().some((a) => a === '*' || a === 's3:*'));
  } catch {
    return false;
  }
}

export const reportBucketRecommendations = s3Step({
  name: 'reportBucketRecommendations',
  stage: 'investigate',
  description:
    "Report what cannot be applied blindly — VPC endpoint policies, presigned URLs, access points (and multi-region access points), ACLs — with the bucket's state after containment",
  iamActions: ['s3:GetBucketPublicAccessBlock', 's3:GetBucketOwnershipControls', 's3:GetBucketPolicy', 's3:GetBucketPolicyStatus', 's3:ListAccessPoints', 'ec2:DescribeVpcEndpoints', ...EVIDENCE_IAM_ACTIONS],
  after: [assessSourceAuthorisation],
  data: BucketReportDataSchema,
  async run(ctx) {
    const { clients, incident, resource, capture, evidence } = ctx;
    const name = resource.name;
    const unavailable: string[] = [];
    const attempt = async <R>(what: string, call: () => Promise<R>): Promise<R | undefined> => {
      try {
        return await call();
      } catch (error) {
        const c = classifyError(error);
        unavailable.push(`${what}: ${c.unsupported ? 'not supported here' : c.code} (${c.message.slice(0, 160)})`);
        return undefined;
      }
    };
    const [publicAccessBlock, objectOwnership, policy] = await Promise.all([
      readBucketPublicAccessBlock(clients.s3, name),
      readObjectOwnership(clients.s3, name),
      readBucketPolicy(clients.s3, name),
    ]);
    const policyIsPublic = policy
      ? await attempt('policy status', async () => {
          try {
            return (await clients.s3.send(new GetBucketPolicyStatusCommand({ Bucket: name }))).PolicyStatus?.IsPublic;
          } catch (error) {
            if (hasErrorCode(error, 'NoSuchBucketPolicy')) return undefined;
            throw error;
          }
        })
      : undefined;
    const state = { publicAccessBlock, objectOwnership, hasPolicy: Boolean(policy), ...(policyIsPublic !== undefined ? { policyIsPublic } : {}) };

    const accessPoints = await attempt('access points (S3 Control ListAccessPoints)', async () => {
      const found: Array<{ name: string; networkOrigin?: string; vpcId?: string }> = [];
      let token: string | undefined;
      for (let page = 0; page < 5; page++) {
        const out = await clients.s3Control.send(new ListAccessPointsCommand({ AccountId: incident.accountId, Bucket: name, ...(token ? { NextToken: token } : {}) }));
        for (const ap of out.AccessPointList ?? []) {
          found.push({ name: ap.Name ?? 'unknown', ...(ap.NetworkOrigin ? { networkOrigin: ap.NetworkOrigin } : {}), ...(ap.VpcConfiguration?.VpcId ? { vpcId: ap.VpcConfiguration.VpcId } : {}) });
        }
        token = out.NextToken;
        if (!token) break;
      }
      return found;
    });
    const vpcEndpoints = await attempt('S3 VPC endpoints (DescribeVpcEndpoints)', async () => {
      const out = await clients.ec2.send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'service-name', Values: [`com.amazonaws.${resource.region}.s3`] }] }));
      return (out.VpcEndpoints ?? []).map((e) => ({ id: e.VpcEndpointId ?? 'unknown', ...(e.VpcId ? { vpcId: e.VpcId } : {}), fullAccessPolicy: fullAccess(e.PolicyDocument) }));
    });

    const recommendations: string[] = [];
    const contained = (step: Parameters<typeof ctx.outcomeOf>[0]) => ctx.outcomeOf(step)?.status;
    if (contained(blockAccountPublicAccess) !== 'done') {
      recommendations.push('Turn on Block Public Access for the whole account (S3 Control PutPublicAccessBlock) unless a bucket must stay public; Firebreak does it when account_block_public_access = true');
    }
    if (contained(removePublicPolicyStatements) === 'done') {
      recommendations.push("Review the bucket policy's remaining statements and the IAM policies that grant this bucket: Firebreak removed only the statements that grant public access");
    }
    const publicAcl = publicGrants(capture.acl ?? resource.acl);
    if (contained(enforceBucketOwnership) === 'done') {
      recommendations.push(
        `Keep ACLs disabled (BucketOwnerEnforced): enabling them again brings back every ACL grant made before, on the bucket${publicAcl.length ? ` (public: ${publicAcl.map((g) => `${g.grantee} ${g.permission}`).join(', ')})` : ''} and on its objects`,
      );
    } else if (contained(enforceBucketOwnership) !== 'skipped' || objectOwnership !== 'BucketOwnerEnforced') {
      recommendations.push('Disable ACLs (object ownership BucketOwnerEnforced) after moving any grant they carry to the bucket policy: ACLs are a legacy access path');
    }
    if (accessPoints?.length) {
      recommendations.push(
        `Review the bucket's ${accessPoints.length} access point(s) and their policies (${accessPoints.map((a) => `${a.name}${a.networkOrigin ? ` [${a.networkOrigin}${a.vpcId ? ` ${a.vpcId}` : ''}]` : ''}`).join(', ')}): each grants access with its own policy, and an Internet one is reachable from anywhere the bucket's Block Public Access allows`,
      );
    }
    recommendations.push(
      'Check multi-region access points that include this bucket (ListMultiRegionAccessPoints is served only from us-west-2: not queried here) and their policies',
    );
    const openEndpoints = (vpcEndpoints ?? []).filter((e) => e.fullAccessPolicy);
    if (openEndpoints.length) {
      recommendations.push(
        `Restrict the S3 VPC endpoint policies that allow every bucket (${openEndpoints.map((e) => `${e.id}${e.vpcId ? ` in ${e.vpcId}` : ''}`).join(', ')}) to the buckets their VPC needs: a full-access endpoint lets anything in the VPC copy data to any bucket, an attacker's included`,
      );
    } else {
      recommendations.push('Limit S3 VPC endpoint policies to the buckets each VPC needs, and this bucket to its endpoints (aws:SourceVpce) where it is only used privately');
    }
    const actor = actorOf(incident);
    const signer = actor.accessKeyId ? `${actor.accessKeyId}${actor.userName ? ` (${actor.userType ?? 'principal'} ${actor.userName})` : ''}` : 'the source';
    const handedOff = ctx.outputOf(assessSourceAuthorisation)?.handedOff;
    recommendations.push(
      `Presigned URLs stay usable until they expire (up to 7 days when signed with an access key; no longer than the session with temporary credentials) while the signer's credentials stay valid: ${
        actor.accessKeyId?.startsWith('AKIA')
          ? `${signer} is a long-term key — deactivate it${handedOff ? ' (handed to the IAM playbook)' : ''} to void every URL it signed`
          : actor.accessKeyId?.startsWith('ASIA')
            ? `${signer} is a session — revoke the role's older sessions${handedOff ? ' (handed to the IAM playbook)' : ''} to void the URLs it signed`
            : 'deactivate or revoke the signing credentials'
      }; or deny presigned access in the bucket policy (Deny with s3:authType = REST-QUERY-STRING, or s3:signatureAge)`,
    );
    recommendations.push('The data was left in place: nothing was deleted; review object versions and replication for what an attacker may have written or copied');

    const report = { bucket: name, region: resource.region, incident: incident.incidentId, state, accessPoints, vpcEndpoints, unavailable, recommendations };
    const ref = await evidence.putJson(incident.incidentId, 'bucket-report.json', report);
    return {
      status: 'done',
      summary: `${recommendations.length} recommendation(s) for ${name} (Block Public Access ${publicAccessBlock ? 'set' : 'not set'}, ownership ${objectOwnership ?? 'not set'}, ${policy ? `policy ${policyIsPublic === true ? 'public' : policyIsPublic === false ? 'not public' : 'present'}` : 'no policy'}, ${accessPoints?.length ?? '?'} access point(s))${unavailable.length ? `; not looked at: ${unavailable.join('; ')}` : ''}`,
      data: { state, ...(accessPoints ? { accessPoints } : {}), ...(vpcEndpoints ? { vpcEndpoints } : {}), unavailable, recommendations },
      evidence: [ref],
    };
  },
});
