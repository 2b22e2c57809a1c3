/** See pglite-template.mjs. */
export function templateDir(): string;
export function seedFromTemplate(dataDir: string): boolean;
export function makeTemplate(): Promise<boolean>;
