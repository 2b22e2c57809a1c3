/**
 * Loads the Handlebars templates from templates/ once. Templates are our own files only, never
 * text from a payload; prototype access stays off (Handlebars' default).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export type TemplateFile =
  | 'comments/intake.md'
  | 'comments/change.md'
  | 'comments/clock.md'
  | 'comments/feature-request.md'
  | 'comments/tool-signal.md'
  | 'comments/gate.md'
  | 'issues/retrospective.md'
  | 'comments/exception.md'
  | 'comments/incident-worksheet.md'
  | 'comments/planning.md'
  | 'comments/plan-bundle.md'
  | 'intake/github-issue-form.yml'
  | 'intake/gitlab-issue-template.md';

export type Renderer = (name: TemplateFile, view: object) => string;

/** Escapes text for a Markdown body: no HTML tag or entity can be formed from it. */
export const escapeMarkdownText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function createRenderer(dir: string = TEMPLATES_DIR): Renderer {
  const hb = Handlebars.create();
  // JSON strings are valid YAML scalars: the safe way to put any text into YAML.
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  // Markdown text: escape only what HTML needs (`&`, `<`, `>`). The default `{{x}}` escaping also
  // turns `=`, `'`, `"` and backticks into entities, which shows as `&#x3D;` in the raw comment.
  hb.registerHelper('md', (v: unknown) => new hb.SafeString(escapeMarkdownText(v == null ? '' : String(v))));
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
