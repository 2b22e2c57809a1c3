/** Column values shared by the storage modules: JSON columns as written, the platform column as read. */
import { z } from 'zod';

/** A JSON column's text (`undefined` is stored as null). */
export const json = (v: unknown): string => JSON.stringify(v === undefined ? null : v);

export const platformColumn = z.enum(['github', 'gitlab', 'slack']);
