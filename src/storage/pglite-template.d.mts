/** See pglite-template.mjs. */
export function templateDir(): string;
export function copyDataDir(src: string, dst: string): void;
export function seedFromTemplate(dataDir: string): boolean;
export function makeTemplate(): Promise<boolean>;
