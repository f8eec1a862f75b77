/* Rapport workspace: draws the ECharts charts of a page (elements with data-chart hold the
   chart's option as JSON) and redraws them after an HTMX swap or a resize. No inline
   script: the pages' Content-Security-Policy allows only this server's scripts. */
(function () {
  "use strict";
  var charts = [];

  /* Every chart but a sparkline gets ECharts' "save as image" button: a PNG named after
     the chart (its aria-label), on white, at twice the screen's pixels. The button's title
     is the page's language (data-chart-save on <body>, from the texts catalogue). */
  function withSaveImage(option, node) {
    var title = document.body.dataset.chartSave;
    if (!title || option.toolbox || node.classList.contains("spark")) { return option; }
    var name = (node.getAttribute("aria-label") || node.id || "chart").replace(/[\\/:*?"<>|]+/g, " ");
    option.toolbox = {
      right: 4,
      top: 0,
      padding: 6,
      itemSize: 14,
      feature: {
        saveAsImage: {
          title: title,
          name: "rapport-" + name.trim(),
          type: "png",
          pixelRatio: 2,
          backgroundColor: "#ffffff"
        }
      }
    };
    return option;
  }

  function draw(root) {
    if (typeof echarts === "undefined") { return; }
    var nodes = (root || document).querySelectorAll("[data-chart]");
    nodes.forEach(function (node) {
      if (node.dataset.chartReady === "1") { return; }
      var option = withSaveImage(JSON.parse(node.dataset.chart), node);
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
