import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { VeriteConfig } from '../config/schema.ts';
import type { Database } from '../warehouse/database.ts';
import { loadReportData, type ReportData, type ReportRequest } from './data.ts';
import { renderReportHtml } from './html.ts';

export interface Report {
  data: ReportData;
  html: string;
}

/** A report of the metrics tables (docs/reports.md): its figures and its page. */
export async function makeReport(db: Kysely<Database>, config: VeriteConfig, request: ReportRequest): Promise<Report> {
  const data = await loadReportData(db, config, request);
  return { data, html: renderReportHtml(data) };
}

/** Where a report is written by default: `<reportsDir>/<kind>-<period>.html`. */
export function reportPath(config: Pick<VeriteConfig, 'reportsDir'>, data: Pick<ReportData, 'kind' | 'current'>): string {
  return path.join(config.reportsDir, `${data.kind}-${data.current.period.id}.html`);
}

/** Writes the page, creating its folder; whole or not at all (written aside, then renamed). */
export async function writeReport(file: string, html: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, html, 'utf8');
  await rename(temporary, file);
}
