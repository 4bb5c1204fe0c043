import { createHash } from 'node:crypto';

/**
 * An idempotency token derived from the parts (at most 64 ASCII characters, EC2's and
 * GuardDuty's limit), so every redelivery — and a concurrent one — sends the same token
 * and the service returns what the first call created instead of creating a second.
 *
 * @example
 * ```ts
 * clientToken('forensic', 'inc-3f9c2e0a1b2c3d4e') // 'firebreak-forensic-inc-3f9c2e0a1b2c3d4e'
 * ```
 */
export function clientToken(...parts: string[]): string {
  const plain = `firebreak-${parts.join('-')}`;
  if (plain.length <= 64) return plain;
  return `firebreak-${createHash('sha256').update(parts.join('|')).digest('hex').slice(0, 54)}`;
}
