/**
 * A horizontal bar chart as a standalone SVG string: no dependencies, no network.
 */
export interface Bar {
  label: string;
  value: number;
  /** Optional note drawn after the value (e.g. a ratio). */
  note?: string;
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(title: string, unit: string, bars: Bar[]): string {
  const labelWidth = 300;
  const barArea = 420;
  const rowHeight = 28;
  const top = 44;
  const width = labelWidth + barArea + 170;
  const height = top + bars.length * rowHeight + 30;
  const max = Math.max(1, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowHeight;
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * barArea) : 0;
      const text = Number.isFinite(b.value) ? `${Math.round(b.value)} ${unit}${b.note ? `  ${b.note}` : ''}` : 'n/a';
      return [
        `<text x="${labelWidth - 10}" y="${y + 18}" text-anchor="end">${escape(b.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowHeight - 10}" fill="#3b6ea5"/>`,
        `<text x="${labelWidth + w + 8}" y="${y + 18}">${escape(text)}</text>`,
      ].join('\n  ');
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>
  ${rows}
</svg>
`;
}
