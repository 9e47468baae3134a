// Draws the dashboard charts from the JSON endpoint (the same figures the page shows as tables).
(function () {
  "use strict";
  var script = document.getElementById("dashboard-script");
  if (!script || typeof Chart === "undefined") { return; }
  function draw(id, chart, type) {
    var canvas = document.getElementById(id);
    if (!canvas || !chart || !chart.labels.length) { return; }
    new Chart(canvas, {
      type: type,
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (d) { return { label: d.label, data: d.data }; })
      },
      options: { responsive: true, animation: false }
    });
    canvas.setAttribute("data-drawn", "1");
  }
  fetch(script.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      draw("chart-main", data.level === "school" ? data.charts.by_stage : data.charts.by_area, "bar");
      draw("chart-type", data.charts.by_type, "bar");
      draw("chart-year", data.charts.by_year, "line");
      document.body.setAttribute("data-charts", "ready");
    });
})();
