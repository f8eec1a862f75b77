/* Rapport workspace: draws the ECharts charts of a page (elements with data-chart hold the
   chart's option as JSON) and redraws them after an HTMX swap or a resize. No inline
   script: the pages' Content-Security-Policy allows only this server's scripts. */
(function () {
  "use strict";
  var charts = [];

  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    var nodes = (root || document).querySelectorAll("[data-chart]");
    nodes.forEach(function (node) {
      if (node.dataset.chartReady === "1") { return; }
      var option = JSON.parse(node.dataset.chart);
      var chart = echarts.init(node, null, { renderer: "canvas" });
      chart.setOption(option);
      node.dataset.chartReady = "1";
      charts.push(chart);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
