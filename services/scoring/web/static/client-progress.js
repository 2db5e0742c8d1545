/* The client view's progress charts: each goal's ratings 0-10 over sessions (client and therapist side by side),
   and the client's ORS change from intake against the expected curve. Data: #progress-data (JSON). The lines
   differ by dash and marker as well as colour; the tables beside them hold every value. */
(function () {
  "use strict";
  var source = document.getElementById("progress-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colors = { client: "#0a4fbf", therapist: "#b35900", expected: "#1e6b2e", limit: "#a3161c" };

  function line(label, values, color, dash, style, width) {
    // A line without markers shows as a line in the legend too.
    return { label: label, data: values, borderColor: color, backgroundColor: color, borderDash: dash,
      borderWidth: width, pointStyle: style || "line", pointRadius: style ? 5 : 0, pointHoverRadius: style ? 7 : 0,
      spanGaps: true };
  }

  function legend() {
    return { position: "bottom", labels: { usePointStyle: true, boxWidth: 40 } };
  }

  data.goals.forEach(function (goal) {
    var canvas = document.getElementById(goal.canvas);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "line",
      data: {
        labels: goal.labels,
        datasets: [
          line("Client's rating", goal.client, colors.client, [], "circle", 3),
          line("Therapist's rating", goal.therapist, colors.therapist, [6, 4], "rect", 2)
        ]
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { title: { display: true, text: "Session date" },
            ticks: { callback: function (value) { return goal.labels[value].slice(5); } } },
          y: { min: 0, max: 10, ticks: { stepSize: 2 }, title: { display: true, text: "Rating (0–10)" } }
        },
        plugins: {
          legend: legend(),
          tooltip: { callbacks: { title: function (items) {
            var i = items[0].dataIndex;
            return goal.labels[i] + " (" + goal.session_ids[i] + ")";
          } } }
        }
      }
    });
  });

  var curve = data.trajectory;
  var canvas = document.getElementById("trajectory-chart");
  if (curve && canvas) {
    new Chart(canvas, {
      type: "line",
      data: {
        labels: curve.t,
        datasets: [
          line("Client's change from intake", curve.change, colors.client, [], "circle", 3),
          line("Expected change", curve.expected, colors.expected, [8, 4], false, 2),
          line("Lower limit", curve.lower_limit, colors.limit, [2, 3], "crossRot", 2)
        ]
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { title: { display: true, text: "t: the client's t-th session with an ORS (intake is 1)" } },
          y: { title: { display: true, text: "Change (points)" } }
        },
        plugins: { legend: legend() }
      }
    });
  }
})();
