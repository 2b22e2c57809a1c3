/** The intake records: each issue's intake answers, their problems, and whether the issue is still open. */
import type { Platform } from '../core/model.ts';

export interface IntakeRow {
  issueKey: string;
  platform: Platform;
  repo: string;
  number: number;
  answers: Record<string, string | string[] | null>;
  problems: { field: string; message: string }[];
  complete: boolean;
  updatedAt: Date;
}

export interface IntakeStore {
  saveIntake(r: IntakeRow): Promise<void>;
  getIntake(issueKey: string): Promise<IntakeRow | null>;
  /** The intake's issue was closed (saving the intake again reopens it). */
  closeIntake(issueKey: string, at: Date): Promise<void>;
  /** Open intakes whose `service` answer is this one (compared case-insensitively, spaces trimmed). */
  openIntakesForService(service: string): Promise<IntakeRow[]>;
}
