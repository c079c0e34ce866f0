// Charts of the report page 考核报表 (built into app/static/dist/reports.js, an IIFE with no globals).
//
// Reads <script type="application/json" id="report-data"> (app/web/reports.py chart_data):
//   {"trend": [{"label", "calls", "orders", "response_rate", "resolution_rate", "satisfaction_rate"}],
//    "departments": [{"name", "score", "list"}], "townships": [...]}     rates in [0, 1] or null
// and draws into <canvas id="chart-trend">, <canvas id="chart-departments">, <canvas id="chart-townships">.
// A drawn canvas gets data-drawn="1". The page shows the same figures in tables without this script.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Legend, LinearScale, LineController, LineElement,
  PointElement, Tooltip);

const INK = '#1f2937';
const MUTED = '#6b7280';
const GRID = '#eef0f3';
const COLOURS = { red: '#b91c1c', black: '#1f2937', none: '#94a3b8' };
// 满意率 dashed over a wider 解决率: where they are equal (the evaluation asks one question) both show
const RATES = [
  ['response_rate', '响应率', '#1d4ed8', 2, []],
  ['resolution_rate', '解决率', '#15803d', 4, []],
  ['satisfaction_rate', '满意率', '#b45309', 2, [6, 4]],
];

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.font.size = 12;
Chart.defaults.color = MUTED;
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;

function percent(value) {
  return value == null ? '—' : `${(value * 100).toFixed(1)}%`;
}

function trendChart(canvas, points) {
  return new Chart(canvas, {
    data: {
      labels: points.map((p) => p.label),
      datasets: [
        ...RATES.map(([key, label, colour, width, dash], i) => ({
          type: 'line', label, yAxisID: 'rate', order: 2 - i,       // the later rates on top
          data: points.map((p) => (p[key] == null ? null : Math.round(p[key] * 1000) / 10)),
          rates: points.map((p) => p[key]),
          borderColor: colour, backgroundColor: colour, borderWidth: width, borderDash: dash,
          pointRadius: 3, clip: false,
        })),
        {
          type: 'bar', label: '呼叫件数', yAxisID: 'calls', order: 3,
          data: points.map((p) => p.calls), backgroundColor: '#e5e7eb', hoverBackgroundColor: '#d1d5db',
          barPercentage: 0.6,
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { color: INK } },
        rate: {
          position: 'left', min: 0, max: 100, grid: { color: GRID },
          ticks: { stepSize: 20, callback: (v) => `${v}%` },
        },
        calls: {
          position: 'right', beginAtZero: true, grid: { display: false },
          ticks: { precision: 0, callback: (v) => `${v}件` },
        },
      },
      plugins: {
        legend: {
          position: 'bottom',
          labels: { usePointStyle: true, boxHeight: 8, color: INK, sort: (a, b) => a.datasetIndex - b.datasetIndex },
        },
        tooltip: {
          itemSort: (a, b) => a.datasetIndex - b.datasetIndex,
          callbacks: {
            label: (item) => (item.dataset.type === 'bar'
              ? `呼叫件数：${item.raw} 件`
              : `${item.dataset.label}：${percent(item.dataset.rates[item.dataIndex])}`),
          },
        },
      },
    },
  });
}

// the score at the end of each bar
const barValues = {
  id: 'huyingBarValues',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.font = `600 12px ${Chart.defaults.font.family}`;
    ctx.textBaseline = 'middle';
    chart.getDatasetMeta(0).data.forEach((bar, i) => {
      const value = chart.data.datasets[0].data[i];
      const text = value.toFixed(1);
      const inside = bar.x + ctx.measureText(text).width + 8 > chart.chartArea.right;
      ctx.fillStyle = inside ? '#fff' : INK;
      ctx.textAlign = inside ? 'right' : 'left';
      ctx.fillText(text, inside ? bar.x - 6 : bar.x + 6, bar.y);
    });
    ctx.restore();
  },
};

function scoreChart(canvas, rows) {
  const wrap = canvas.parentElement;
  wrap.style.height = `${Math.max(120, 36 + rows.length * 26)}px`;
  return new Chart(canvas, {
    type: 'bar',
    plugins: [barValues],
    data: {
      labels: rows.map((r) => r.name),
      datasets: [{
        label: '得分',
        data: rows.map((r) => r.score),
        backgroundColor: rows.map((r) => COLOURS[r.list] || COLOURS.none),
        barPercentage: 0.75, categoryPercentage: 0.9, borderRadius: 3,
      }],
    },
    options: {
      indexAxis: 'y',
      scales: {
        x: { min: 0, max: 100, grid: { color: GRID }, ticks: { stepSize: 20 } },
        y: { grid: { display: false }, ticks: { color: INK, autoSkip: false } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const list = { red: '（红榜）', black: '（黑榜）' }[rows[item.dataIndex].list] || '';
              return `得分：${item.raw.toFixed(1)}${list}`;
            },
          },
        },
      },
    },
  });
}

function emptyNote(canvas, text) {
  const note = document.createElement('p');
  note.className = 'rp-chart-empty';
  note.textContent = text;
  canvas.parentElement.style.height = 'auto';
  canvas.replaceWith(note);
}

function draw() {
  const source = document.getElementById('report-data');
  if (!source) return;
  let data;
  try {
    data = JSON.parse(source.textContent);
  } catch (err) {
    console.warn('huying reports: #report-data is not JSON', err);
    return;
  }
  const charts = [];
  const trend = document.getElementById('chart-trend');
  if (trend) charts.push(trendChart(trend, data.trend || []));
  for (const [id, rows, unit] of [['chart-departments', data.departments || [], '部门'],
    ['chart-townships', data.townships || [], '乡镇']]) {
    const canvas = document.getElementById(id);
    if (!canvas) continue;
    if (rows.length) charts.push(scoreChart(canvas, rows));
    else emptyNote(canvas, `本期没有得分的${unit}。`);
  }
  charts.forEach((chart) => { chart.canvas.dataset.drawn = '1'; });
  // printing changes the page width: redraw at the printed size, then back
  window.addEventListener('beforeprint', () => charts.forEach((chart) => chart.resize()));
  window.addEventListener('afterprint', () => charts.forEach((chart) => chart.resize()));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
else draw();
