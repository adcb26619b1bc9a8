// Plots drawn by Chart.js (served by Dockyard from static/vendor): the affinity of each pose,
// a histogram of scores (a screen's ligands), and a job's progress over time.

let library = null;

export function loadChart() {
  // The UMD build sets window.Chart when it runs as a module.
  library ??= import("/static/vendor/chart.umd.min.js").then(() => window.Chart);
  return library;
}

function colors() {
  const style = getComputedStyle(document.documentElement);
  const read = (name) => style.getPropertyValue(name).trim();
  return {
    text: read("--muted"),
    grid: read("--border"),
    accent: read("--accent"),
    soft: read("--accent-soft"),
    selected: read("--pose"),
  };
}

function axes(palette, x, y) {
  const axis = (title) => ({
    title: { display: true, text: title, color: palette.text },
    ticks: { color: palette.text },
    grid: { color: palette.grid },
  });
  return { x: { ...axis(x.title), ...x.extra }, y: { ...axis(y.title), ...y.extra } };
}

const base = {
  responsive: true,
  maintainAspectRatio: false,
  animation: false,
  plugins: { legend: { display: false } },
};

// Bars of the affinity of each pose; the chosen pose stands out; a bar picks its pose.
export async function scoreChart(canvas, poses, { selected = 1, onSelect = () => {} } = {}) {
  const Chart = await loadChart();
  const palette = colors();
  const fill = (rank) => poses.map((pose) => (pose.rank === rank ? palette.selected : palette.accent));
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: poses.map((pose) => String(pose.rank)),
      datasets: [
        {
          label: "Affinity",
          data: poses.map((pose) => pose.affinity),
          backgroundColor: fill(selected),
          maxBarThickness: 36,
        },
      ],
    },
    options: {
      ...base,
      onClick: (_event, bars) => {
        if (bars.length) onSelect(poses[bars[0].index].rank);
      },
      onHover: (event, bars) => {
        event.native.target.style.cursor = bars.length ? "pointer" : "default";
      },
      plugins: {
        ...base.plugins,
        tooltip: {
          callbacks: {
            title: (items) => `Pose ${items[0].label}`,
            label: (item) => `${item.raw.toFixed(3)} kcal/mol`,
          },
        },
      },
      scales: axes(palette, { title: "Pose" }, { title: "kcal/mol", extra: { max: 0 } }),
    },
  });
  canvas.dataset.points = poses.length;
  return {
    chart,
    select(rank) {
      chart.data.datasets[0].backgroundColor = fill(rank);
      chart.update();
    },
  };
}

// How many scores fall in each bin of width `width` kcal/mol; `update` takes new scores.
export async function histogram(canvas, scores, { width = 0.5, label = "Ligands" } = {}) {
  const Chart = await loadChart();
  const palette = colors();
  const bins = (values) => {
    if (!values.length) return { labels: [], counts: [] };
    const low = Math.floor(Math.min(...values) / width) * width;
    const high = Math.max(...values);
    const count = Math.max(1, Math.floor((high - low) / width) + 1);
    const counts = new Array(count).fill(0);
    for (const value of values) counts[Math.min(count - 1, Math.floor((value - low) / width))] += 1;
    const labels = counts.map((_n, index) => (low + index * width).toFixed(1));
    return { labels, counts };
  };
  const first = bins(scores);
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: first.labels,
      datasets: [{ label, data: first.counts, backgroundColor: palette.accent, barPercentage: 1, categoryPercentage: 1 }],
    },
    options: {
      ...base,
      plugins: {
        ...base.plugins,
        tooltip: {
          callbacks: {
            title: (items) => `${items[0].label} to ${(Number(items[0].label) + width).toFixed(1)} kcal/mol`,
          },
        },
      },
      scales: axes(palette, { title: "Best score (kcal/mol)" }, { title: label, extra: { beginAtZero: true, ticks: { precision: 0, color: palette.text } } }),
    },
  });
  canvas.dataset.points = scores.length;
  return {
    chart,
    update(values) {
      const next = bins(values);
      chart.data.labels = next.labels;
      chart.data.datasets[0].data = next.counts;
      chart.update();
      canvas.dataset.points = values.length;
    },
  };
}

// Progress (%) against seconds since `origin` (a Date); `add(date, progress)` appends a point.
export async function progressChart(canvas, origin, points = []) {
  const Chart = await loadChart();
  const palette = colors();
  const toPoint = ([date, progress]) => ({ x: Math.max(0, (date - origin) / 1000), y: Math.round(progress * 100) });
  const chart = new Chart(canvas, {
    type: "line",
    data: {
      datasets: [
        {
          label: "Progress",
          data: points.map(toPoint),
          borderColor: palette.accent,
          backgroundColor: palette.soft,
          fill: true,
          stepped: "before",
          pointRadius: 3,
        },
      ],
    },
    options: {
      ...base,
      parsing: false,
      plugins: {
        ...base.plugins,
        tooltip: { callbacks: { label: (item) => `${item.raw.y}% at ${item.raw.x.toFixed(1)} s` } },
      },
      scales: axes(
        palette,
        { title: "Seconds since created", extra: { type: "linear", beginAtZero: true } },
        { title: "%", extra: { min: 0, max: 100 } },
      ),
    },
  });
  canvas.dataset.points = points.length;
  return {
    chart,
    add(date, progress) {
      const data = chart.data.datasets[0].data;
      const next = toPoint([date, progress]);
      const last = data[data.length - 1];
      if (last && last.x === next.x && last.y === next.y) return;
      data.push(next);
      data.sort((a, b) => a.x - b.x);
      chart.update();
      canvas.dataset.points = data.length;
    },
  };
}
