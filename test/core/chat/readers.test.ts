import { describe, expect, it } from 'vitest';
import { chatPolicySchema, chatReaders } from '../../../src/core/chat/policy.ts';

const chat = (extra: object) => chatPolicySchema.parse({ escalationChannel: '#e', incidentChannel: '#i', ...extra });

describe('chatReaders', () => {
  it.each([
    [
      'readers named: they alone',
      { readers: { users: ['U1'] }, escalators: { users: ['U2'] } },
      { users: ['U1'], groups: [] },
      'chat.readers',
    ],
    [
      'a readers group alone counts as named',
      { readers: { groups: ['S1'] }, escalators: { users: ['U2'] } },
      { users: [], groups: ['S1'] },
      'chat.readers',
    ],
    ['no readers: the escalators', { escalators: { users: ['U2'], groups: ['S2'] } }, { users: ['U2'], groups: ['S2'] }, 'chat.escalators'],
    ['neither: nobody (never everyone)', {}, { users: [], groups: [] }, null],
    ['empty lists are neither', { readers: { users: [], groups: [] }, escalators: { users: [] } }, { users: [], groups: [] }, null],
  ])('%s', (_, policy, who, from) => {
    expect(chatReaders(chat(policy))).toEqual({ who, from });
  });
});
