/* The clinic view's chart: each therapist's share of active clients with an open episode, against one in ten. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var canvas = document.getElementById("clinic-chart");
  if (!canvas || typeof Chart === "undefined") { return; }
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.therapists,
      datasets: [
        { label: "Share with an open episode (%)", data: data.open_share, backgroundColor: "#0a4fbf", maxBarThickness: 90, order: 2 },
        { type: "line", label: "One-in-ten guide (%)", data: data.therapists.map(function () { return data.guide; }),
          borderColor: "#a3161c", borderDash: [6, 4], borderWidth: 2, pointRadius: 0, order: 1 }
      ]
    },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      scales: { y: { min: 0, suggestedMax: 40, title: { display: true, text: "% of active clients" } } },
      plugins: { legend: { position: "bottom" } }
    }
  });
})();
