/**
 * The database kinds Whalefall collects from. Domain types (src/domain/) are
 * shared by engines, services and the store; they import nothing from them.
 */
export const DB_TYPES = ['mysql', 'mariadb', 'postgresql', 'sqlserver', 'oracle'] as const;
export type DbType = (typeof DB_TYPES)[number];
