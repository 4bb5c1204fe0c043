/**
 * Tags on IAM users and roles (TagUser, TagRole). IAM accepts fewer characters in tag values than
 * EC2 — letters, digits, spaces and `_ . : / = + - @` only (IAM API Reference, `Tag`) — and some of
 * Firebreak's values come from a finding (`Backdoor:EC2/C&CActivity.B`), so they are made safe
 * before IAM sees them.
 */
import type { Tag } from '@aws-sdk/client-iam';
import { TAG_VALUE_MAX_LENGTH, type ResourceTag } from './tagging.ts';

const NOT_IAM_TAG_CHARACTER = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

/**
 * IAM tags from EC2-style ones: every character IAM refuses in a value becomes `_`, values are
 * cut to 256 characters.
 *
 * @example
 * ```ts
 * iamTags([{ Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C&CActivity.B' }])
 * // [{ Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C_CActivity.B' }]
 * ```
 */
export function iamTags(tags: readonly ResourceTag[]): Tag[] {
  return tags.map(({ Key, Value }) => ({ Key, Value: Value.replace(NOT_IAM_TAG_CHARACTER, '_').slice(0, TAG_VALUE_MAX_LENGTH) }));
}
