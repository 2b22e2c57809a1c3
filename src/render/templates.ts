/**
 * Loads the Handlebars templates from templates/ once. Templates are our own files only, never
 * text from a payload; prototype access stays off (Handlebars' default).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export type TemplateFile = 'comments/intake.md' | 'intake/github-issue-form.yml' | 'intake/gitlab-issue-template.md';

export type Renderer = (name: TemplateFile, view: object) => string;

export function createRenderer(dir: string = TEMPLATES_DIR): Renderer {
  const hb = Handlebars.create();
  // JSON strings are valid YAML scalars: the safe way to put any text into YAML.
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const cache = new Map<string, Handlebars.TemplateDelegate>();
  return (name, view) => {
    let tpl = cache.get(name);
    if (!tpl) {
      tpl = hb.compile(readFileSync(`${dir}${name}.hbs`, 'utf8'), { strict: false, noEscape: false });
      cache.set(name, tpl);
    }
    return tpl(view, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false }).replace(/\n{3,}/g, '\n\n');
  };
}
