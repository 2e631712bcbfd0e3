// The doctor's report for people: one line per finding, its advice under it, and a verdict. Plain text
// (the caller may colour the level); `--json` prints the report itself.
import type { DoctorReport, Finding } from './findings.js';

const LABELS: Record<string, string> = {
  domain: 'domain',
  mx: 'MX',
  spf: 'SPF',
  dmarc: 'DMARC',
  hostname: 'hostname',
  ptr: 'PTR',
  outbound: 'outbound',
  smarthost: 'smarthost',
  tls: 'TLS',
  clock: 'clock',
  disk: 'disk',
  listener: 'listener',
};

/** `level` padded, for a caller that wants to colour it: `paint` gets the padded text and the level. */
export function doctorLines(report: DoctorReport, paint: (text: string, level: Finding['level']) => string = (text) => text): string[] {
  const lines = [`letterbox doctor: ${report.hostname}`];
  const subjectWidth = Math.min(32, Math.max(...report.findings.map((f) => f.subject.length), 8));
  for (const finding of report.findings) {
    const label = (LABELS[finding.check] ?? finding.check).padEnd(9);
    const head = `${paint(finding.level.padEnd(8), finding.level)} ${label} ${finding.subject.padEnd(subjectWidth)}  `;
    lines.push(`${head}${finding.summary}`);
    if (finding.advice) lines.push(`${' '.repeat(8 + 1 + 9 + 1 + subjectWidth + 2)}-> ${finding.advice}`);
  }
  lines.push(verdict(report));
  return lines;
}

function verdict(report: DoctorReport): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (report.problems > 0) return `${count(report.problems, 'problem')}, ${count(report.warnings, 'warning')}: mail will not flow as it should until the problems are fixed`;
  if (report.warnings > 0) return `no problems, ${count(report.warnings, 'warning')}`;
  return 'everything checked is ok';
}
