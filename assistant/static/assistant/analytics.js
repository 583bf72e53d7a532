/* Draws the analytics page's charts from the JSON the server embedded (Chart.js, vendored). */
"use strict";
(function () {
  function draw() {
    var data = JSON.parse(document.getElementById("analytics-data").textContent);
    var names = data.labels;
    var palette = ["#417690", "#f5a623", "#2e8540", "#a33", "#79aec8", "#8e44ad"];
    function make(id, type, labels, datasets, options) {
      var element = document.getElementById(id);
      if (!element) { return; }
      datasets.forEach(function (set, index) {
        set.backgroundColor = set.backgroundColor || palette[index % palette.length];
        set.borderColor = set.borderColor || palette[index % palette.length];
      });
      new Chart(element, {
        type: type,
        data: { labels: labels, datasets: datasets },
        options: Object.assign({ responsive: true, animation: false, maintainAspectRatio: true }, options || {})
      });
    }
    make("chart-new", "line", data.new.day, [
      { label: names.customers, data: data.new.customers, tension: 0.2 },
      { label: names.leads, data: data.new.leads, tension: 0.2 }
    ]);
    make("chart-funnel", "bar", data.funnel.label, [{ label: names.leads, data: data.funnel.leads }],
      { indexAxis: "y", plugins: { legend: { display: false } } });
    make("chart-services", "bar", data.services.service, [
      { label: names.leads, data: data.services.leads },
      { label: names.won, data: data.services.won }
    ]);
    var stacked = { scales: { x: { stacked: true }, y: { stacked: true } } };
    make("chart-messages", "bar", data.messages.day, [
      { label: names.customer, data: data.messages.customer },
      { label: names.assistant, data: data.messages.assistant },
      { label: names.operator, data: data.messages.operator }
    ], stacked);
    make("chart-latency", "line", data.latency.day, [
      { label: "p50", data: data.latency.p50, spanGaps: true, tension: 0.2 },
      { label: "p95", data: data.latency.p95, spanGaps: true, tension: 0.2 }
    ]);
    make("chart-feedback", "bar", data.feedback.day, [
      { label: "👍", data: data.feedback.up, backgroundColor: "#2e8540" },
      { label: "👎", data: data.feedback.down, backgroundColor: "#a33" }
    ], stacked);
    make("chart-usage", "bar", data.usage.model_name, [
      { label: names.cost, data: data.usage.cost }
    ]);
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
