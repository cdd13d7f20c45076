/** The roles of a user, least first (a role can do what the ones before it can). */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
