/** The intake records over Kysely (PGlite and PostgreSQL). */
import { sql, type Kysely, type Selectable } from 'kysely';
import { z } from 'zod';
import type { IntakeRow, IntakeStore } from '../ports/intake-store.ts';
import { json, platformColumn } from './columns.ts';
import type { Database, IntakeRecordsTable } from './schema.ts';

const answers = z.record(z.string(), z.union([z.string(), z.array(z.string()), z.null()]));
const problems = z.array(z.object({ field: z.string(), message: z.string() }));

export class KyselyIntakeStore implements IntakeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async saveIntake(r: IntakeRow): Promise<void> {
    const values = {
      issue_key: r.issueKey,
      platform: r.platform,
      repo: r.repo,
      number: r.number,
      answers: json(r.answers),
      problems: json(r.problems),
      complete: r.complete,
      updated_at: r.updatedAt,
      closed_at: null,
    };
    await this.db
      .insertInto('intake_records')
      .values(values)
      .onConflict((oc) =>
        oc.column('issue_key').doUpdateSet({
          platform: values.platform,
          repo: values.repo,
          number: values.number,
          answers: values.answers,
          problems: values.problems,
          complete: values.complete,
          updated_at: values.updated_at,
          closed_at: null,
        }),
      )
      .execute();
  }

  async closeIntake(issueKey: string, at: Date): Promise<void> {
    await this.db.updateTable('intake_records').set({ closed_at: at }).where('issue_key', '=', issueKey).execute();
  }

  async openIntakesForService(service: string): Promise<IntakeRow[]> {
    const wanted = service.trim().toLowerCase();
    const rows = await this.db
      .selectFrom('intake_records')
      .selectAll()
      .where('closed_at', 'is', null)
      .where(sql<string>`lower(trim(answers->>'service'))`, '=', wanted)
      .orderBy('updated_at', 'asc')
      .execute();
    return rows
      .map(toIntake)
      .filter((r) => typeof r.answers['service'] === 'string' && r.answers['service'].trim().toLowerCase() === wanted);
  }

  async getIntake(issueKey: string): Promise<IntakeRow | null> {
    const row = await this.db.selectFrom('intake_records').selectAll().where('issue_key', '=', issueKey).executeTakeFirst();
    return row ? toIntake(row) : null;
  }
}

function toIntake(r: Selectable<IntakeRecordsTable>): IntakeRow {
  return {
    issueKey: r.issue_key,
    platform: platformColumn.parse(r.platform),
    repo: r.repo,
    number: Number(r.number),
    answers: answers.parse(r.answers),
    problems: problems.parse(r.problems),
    complete: r.complete,
    updatedAt: r.updated_at,
  };
}
