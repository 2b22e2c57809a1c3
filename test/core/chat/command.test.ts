import { describe, expect, it } from 'vitest';
import { helpText, parseCommand, parseItemUrl } from '../../../src/core/chat/command.ts';

const hosts = { github: ['github.com'], gitlab: ['gitlab.example.com'] };

describe('parseItemUrl', () => {
  it.each([
    ['https://github.com/acme/app/issues/7', { platform: 'github', fullName: 'acme/app', number: 7, kind: 'issue' }],
    ['https://github.com/acme/app/pull/12/', { platform: 'github', fullName: 'acme/app', number: 12, kind: 'change' }],
    ['<https://github.com/acme/app/issues/7|acme/app#7>', { platform: 'github', fullName: 'acme/app', number: 7, kind: 'issue' }],
    ['<https://github.com/acme/app/issues/7>', { platform: 'github', fullName: 'acme/app', number: 7, kind: 'issue' }],
    ['https://gitlab.example.com/group/sub/proj/-/issues/3', { platform: 'gitlab', fullName: 'group/sub/proj', number: 3, kind: 'issue' }],
    ['https://gitlab.example.com/group/proj/-/merge_requests/9', { platform: 'gitlab', fullName: 'group/proj', number: 9, kind: 'change' }],
    ['https://github.com/acme/app/issues/7?x=1#issuecomment-2', { platform: 'github', fullName: 'acme/app', number: 7, kind: 'issue' }],
  ])('reads %s', (url, expected) => {
    expect(parseItemUrl(url, hosts)).toMatchObject(expected);
  });

  it.each([
    'https://evil.example/acme/app/issues/7',
    'javascript:alert(1)',
    'github.com/acme/app/issues/7',
    'https://github.com/acme/app',
    'https://gitlab.example.com/group/proj/issues/3',
    'not a url',
  ])('refuses %s', (url) => {
    expect(parseItemUrl(url, hosts)).toBeNull();
  });
});

describe('parseCommand', () => {
  it.each([
    ['', 'help'],
    ['help', 'help'],
    ['HELP', 'help'],
    ['queue', 'queue'],
    ['  queue  ', 'queue'],
  ])('%j is %s', (text, kind) => {
    expect(parseCommand(text, '/gatehouse', hosts).kind).toBe(kind);
  });

  it('reads status and escalate with their URL and reason', () => {
    expect(parseCommand('status https://github.com/acme/app/issues/7', '/gatehouse', hosts)).toMatchObject({
      kind: 'status',
      item: { number: 7 },
    });
    expect(
      parseCommand('escalate https://github.com/acme/app/issues/7 owner  wants to ship   without MFA', '/gatehouse', hosts),
    ).toMatchObject({ kind: 'escalate', reason: 'owner wants to ship without MFA' });
  });

  it.each([
    ['stauts https://github.com/acme/app/issues/7', 'Did you mean `/gatehouse status`?'],
    ['qeue', 'Did you mean `/gatehouse queue`?'],
    ['escalat x', 'Did you mean `/gatehouse escalate`?'],
    ['deploy prod', 'Gatehouse does not know `deploy`. Try `/gatehouse help`.'],
    ['status', '`status` needs the URL of an issue'],
    [
      'status https://evil.example/a/b/issues/1',
      'not an issue, pull request or merge request URL Gatehouse knows (github.com, gitlab.example.com)',
    ],
    ['escalate https://github.com/acme/app/issues/7', 'Say why'],
  ])('answers %j helpfully', (text, message) => {
    const c = parseCommand(text, '/gatehouse', hosts);
    expect(c.kind).toBe('invalid');
    expect(c.kind === 'invalid' && c.message).toContain(message);
  });

  it('names every subcommand in help, with the configured command name', () => {
    const text = helpText('/sec');
    for (const s of ['help', 'status <issue or MR URL>', 'queue', 'escalate <issue or MR URL> <reason>'])
      expect(text).toContain(`/sec ${s}`);
  });
});
