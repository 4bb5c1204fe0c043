import * as z from 'zod';

/**
 * Every target registration containment took out of a load balancer's target groups (an
 * instance by id, or an IP: an instance's private address, an awsvpc task's), recorded so that
 * release registers exactly those again.
 */
export const TargetRegistrationsSchema = z.object({
  registrations: z.array(
    z.object({
      targetGroupArn: z.string(),
      targetType: z.enum(['instance', 'ip']),
      id: z.string(),
      port: z.number().optional(),
      availabilityZone: z.string().optional(),
    }),
  ),
});

/** One recorded registration. */
export type TargetRegistration = z.infer<typeof TargetRegistrationsSchema>['registrations'][number];

/** The `Targets` entry DeregisterTargets and RegisterTargets take for a recorded registration. */
export const targetOf = (r: TargetRegistration) => ({ Id: r.id, ...(r.port !== undefined ? { Port: r.port } : {}), ...(r.availabilityZone ? { AvailabilityZone: r.availabilityZone } : {}) });
