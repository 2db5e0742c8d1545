/* The client view's chart: SRS totals with cutoff and own baseline band, therapist ratings beside, ORS on its
   own axis, markers, episodes shaded, acknowledgements and manual resolutions. Data: #chart-data (JSON). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var canvas = document.getElementById("alliance-chart");
  if (!canvas || typeof Chart === "undefined") { return; }
  var colors = {
    client: "#0a4fbf", therapist: "#b35900", ors: "#1e6b2e", cutoff: "#4a4a55", band: "rgba(10, 79, 191, 0.16)",
    items: ["#6a1b9a", "#00838f", "#ad1457", "#5d4037"],
    high: "#a3161c", medium: "#7a4d00", low: "#2f4d73", ack: "#1e6b2e", manual: "#5b2a8c"
  };
  function points(values) {
    return values.map(function (v, i) { return { x: i, y: v }; });
  }
  var n = data.labels.length;
  // Zoom the SRS axis to where the client's numbers are (in steps of 5), keeping the cutoff in view.
  var srsValues = data.client_srs.concat(data.therapist_srs, data.band_low, [data.cutoff])
    .filter(function (v) { return v !== null; });
  var srsMin = Math.max(0, Math.floor((Math.min.apply(null, srsValues) - 3) / 5) * 5);
  var itemNames = Object.keys(data.items);
  var datasets = [
    { label: "Client SRS total", data: points(data.client_srs), borderColor: colors.client,
      backgroundColor: colors.client, borderWidth: 3, pointRadius: 4, spanGaps: true, yAxisID: "y", order: 1 },
    { label: "Therapist SRS total", data: points(data.therapist_srs), borderColor: colors.therapist,
      backgroundColor: colors.therapist, borderDash: [6, 4], borderWidth: 2, pointRadius: 3, pointStyle: "rect",
      spanGaps: true, yAxisID: "y", order: 2 },
    { label: "Cutoff", data: [{ x: -0.5, y: data.cutoff }, { x: n - 0.5, y: data.cutoff }],
      borderColor: colors.cutoff, borderWidth: 1.5, pointRadius: 0, yAxisID: "y", order: 5 },
    { label: "Own baseline band", data: points(data.band_high), borderColor: "rgba(10, 79, 191, 0.45)",
      borderDash: [3, 3], borderWidth: 1, pointRadius: 0, spanGaps: false, yAxisID: "y", order: 6 },
    { label: "baseline band low", data: points(data.band_low), borderColor: "rgba(10, 79, 191, 0.45)",
      borderDash: [3, 3], borderWidth: 1, pointRadius: 0, backgroundColor: colors.band, fill: "-1",
      spanGaps: false, yAxisID: "y", order: 6 },
    { label: "Client ORS total (right axis)", data: points(data.ors), borderColor: colors.ors,
      backgroundColor: colors.ors, borderWidth: 2, pointRadius: 3, pointStyle: "circle", spanGaps: true,
      yAxisID: "y2", order: 3 }
  ];
  itemNames.forEach(function (name, k) {
    datasets.push({ label: "SRS item: " + name, data: points(data.items[name]), borderColor: colors.items[k],
      backgroundColor: colors.items[k], borderWidth: 1.5, pointRadius: 2, spanGaps: true, hidden: true,
      yAxisID: "y10", order: 4, isItem: true });
  });
  datasets.push(
    { type: "scatter", label: "Markers", data: data.markers, pointStyle: "triangle", pointRadius: 9,
      pointHoverRadius: 11, backgroundColor: data.markers.map(function (m) { return colors[m.severity] || colors.low; }),
      borderColor: "#ffffff", borderWidth: 1, yAxisID: "y", order: 0 },
    { type: "scatter", label: "Acknowledged", data: data.acknowledgements, pointStyle: "rectRot", pointRadius: 8,
      backgroundColor: colors.ack, borderColor: "#ffffff", yAxisID: "y", order: 0 },
    { type: "scatter", label: "Resolved by hand", data: data.resolutions, pointStyle: "star", pointRadius: 11,
      borderWidth: 3, borderColor: colors.manual, backgroundColor: colors.manual, yAxisID: "y", order: 0 }
  );

  var episodesPlugin = {
    id: "episodes",
    beforeDatasetsDraw: function (chart) {
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      ctx.save();
      data.episodes.forEach(function (e) {
        var left = Math.max(x.getPixelForValue(e.start - 0.35), area.left);
        var right = Math.min(x.getPixelForValue(e.end + 0.35), area.right);
        ctx.fillStyle = e.open ? "rgba(163, 22, 28, 0.12)" : "rgba(74, 74, 85, 0.10)";
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
        ctx.fillStyle = e.open ? colors.high : colors.cutoff;
        ctx.font = "12px system-ui, sans-serif";
        var label = (e.open ? "open " : "") + e.severity + (e.stale ? ", stale" : "") + (e.how ? ", " + e.how : "");
        ctx.fillText(label + (e.from_history ? " (imported)" : ""), left + 4, area.top + 14);
      });
      ctx.restore();
    }
  };

  var chart = new Chart(canvas, {
    type: "line",
    data: { datasets: datasets },
    plugins: [episodesPlugin],
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: "nearest", intersect: false },
      scales: {
        x: { type: "linear", min: -0.5, max: n - 0.5,
          ticks: { stepSize: 1, autoSkip: true, maxRotation: 0,
            callback: function (value) { return Number.isInteger(value) && data.labels[value] ? data.labels[value].slice(5) : ""; } },
          title: { display: true, text: "Session date (month-day)" } },
        y: { min: srsMin, max: 40, title: { display: true, text: "SRS total (" + srsMin + "–40)" } },
        y2: { position: "right", min: 0, max: 40, grid: { drawOnChartArea: false },
          title: { display: true, text: "ORS total (0–40)" } },
        y10: { display: false, min: 0, max: 10.25 }
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true,
          sort: function (a, b) { return a.datasetIndex - b.datasetIndex; },
          filter: function (item) { return item.text !== "baseline band low"; } } },
        tooltip: { callbacks: {
          title: function (items) {
            var i = Math.round(items[0].parsed.x);
            return data.labels[i] ? data.labels[i] + " (" + data.session_ids[i] + ")" : "";
          },
          label: function (item) {
            var raw = item.raw || {};
            if (item.dataset.label === "Markers") { return ["Markers (" + raw.severity + "):"].concat(raw.words); }
            if (item.dataset.label === "Acknowledged") { return "Acknowledged by " + raw.by; }
            if (item.dataset.label === "Resolved by hand") { return "Resolved by hand by " + raw.by; }
            return item.dataset.label + ": " + item.formattedValue;
          } } }
      }
    }
  });

  var toggle = document.getElementById("show-items");
  if (toggle) {
    toggle.addEventListener("change", function () {
      chart.data.datasets.forEach(function (d) { if (d.isItem) { d.hidden = !toggle.checked; } });
      chart.update();
    });
  }
})();
