/* Charts of the overview page: data from the JSON block the server rendered (no inline script). */
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  if (typeof Chart === "undefined") return;
  Chart.defaults.font.family = "system-ui, sans-serif";
  Chart.defaults.animation = false;
  var teal = "#0f4c5c";
  var hidden = function (values) { return values.map(function (v) { return v === null ? 0 : v; }); };
  if (document.getElementById("weekly")) new Chart(document.getElementById("weekly"), {
    type: "bar",
    data: { labels: data.weekly.labels,
            datasets: [{ label: "Sessions", data: hidden(data.weekly.values), backgroundColor: teal }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
  new Chart(document.getElementById("categories"), {
    type: "bar",
    data: { labels: data.categories.names.map(function (k) { return data.names[k] || k; }),
            datasets: [{ label: "Tuiles ouvertes", data: hidden(data.categories.values), backgroundColor: "#e07a1f" }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
})();
