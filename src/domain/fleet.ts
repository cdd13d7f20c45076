/** The fleet file formats (import and export): the fleet services, the API's schemas and, as types, the browser. */
export const FLEET_FORMATS = ['csv', 'yaml'] as const;
export type FleetFormat = (typeof FLEET_FORMATS)[number];
