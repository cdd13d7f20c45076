/** The query of the report route (reports.routes.ts), which the settings page's report links build (src/client/shared/api-types.ts). */
import { Type } from '@sinclair/typebox';
import { StringEnum } from '../components.js';

/** GET /api/reports/capacity (query): the month, the document's format and language. Inline in the OpenAPI document. */
export const CapacityReportQuery = Type.Object(
  {
    month: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$', description: 'YYYY-MM (default: the month before this one)' })),
    format: Type.Optional(StringEnum(['html', 'csv', 'pdf'] as const)),
    lang: Type.Optional(StringEnum(['zh-CN', 'en'] as const)),
  },
  { additionalProperties: false },
);
