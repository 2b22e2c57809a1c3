/** See pglite-template.mjs. */
export function templateDir(): string;
export function copyDataDir(src: string, dst: string): void;
export function templateProblem(template: string): string | null;
export function protectTemplate(template: string): void;
export function seedFromTemplate(dataDir: string, opts?: { template?: string; onRefused?: (reason: string) => void }): boolean;
export function makeTemplate(template?: string): Promise<boolean>;
