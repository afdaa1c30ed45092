// A thin React wrapper over Chart.js (only the parts registered here are bundled).
import { useEffect, useRef } from 'react';
import {
  Chart,
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.color = '#5b6475';
Chart.defaults.animation = false;

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];

/** type: 'line' | 'bar'; labels: x labels; datasets: Chart.js datasets; options merged in. */
export function ChartView({ type = 'line', labels, datasets, options = {}, height = 220, testid }) {
  const canvas = useRef(null);
  const chart = useRef(null);

  useEffect(() => {
    const c = new Chart(canvas.current, {
      type,
      data: { labels: [], datasets: [] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: true, position: 'bottom', labels: { boxWidth: 12 } } },
        scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } }, y: { beginAtZero: true } },
        ...options,
      },
    });
    chart.current = c;
    return () => {
      c.destroy();
      chart.current = null;
    };
    // The chart is rebuilt only when its type or options change; data updates in place below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [type, JSON.stringify(options)]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = labels;
    c.data.datasets = datasets.map((d, i) => ({
      borderColor: d.color ?? PALETTE[i % PALETTE.length],
      backgroundColor: d.fill ? `${d.color ?? PALETTE[i % PALETTE.length]}33` : d.color ?? PALETTE[i % PALETTE.length],
      borderWidth: 2,
      pointRadius: labels.length > 40 ? 0 : 2,
      tension: 0.25,
      spanGaps: true,
      ...d,
    }));
    c.update();
  }, [labels, datasets]);

  const total = datasets.reduce((a, d) => a + d.data.filter((v) => v !== null && v !== undefined).length, 0);
  return (
    <div className="chart" style={{ height }} data-testid={testid} data-points={total}>
      <canvas ref={canvas} role="img" aria-label={testid || 'chart'} />
    </div>
  );
}
