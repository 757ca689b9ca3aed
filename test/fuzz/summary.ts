import { formatFailure, RSS_SLACK_BYTES, type CampaignReport } from './campaign.js';

/** The end-of-run summary: counts per place, time, memory, and every failure with its replay line. */
export function formatSummary(report: CampaignReport): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  const places = Object.entries(report.perPlace).map(([place, count]) => `${place} ${count}`).join(', ');
  const known = report.failures.filter((failure) => failure.knownDefect);
  return [
    `fuzz: seed ${report.seed}, ${report.cases} cases (${places}) in ${(report.durationMs / 1000).toFixed(0)} s`,
    `fuzz: RSS of the plain proxy: ${mb(report.rss.warm)} after the first batch, at most ${mb(report.rss.max)}, ${mb(report.rss.last)} at the end (bound: first batch + ${mb(RSS_SLACK_BYTES)}); logs ${mb(report.logBytes)}`,
    `fuzz: ${report.failures.length} failures (${known.length} from known defects ${[...new Set(known.map((failure) => failure.knownDefect))].join(', ') || '-'})`,
    ...report.failures.map(formatFailure),
    `fuzz: replay a case with MYSQLDA_FUZZ_SEED=${report.seed} MYSQLDA_FUZZ_ONLY=<case> npm run fuzz`,
  ].join('\n');
}
