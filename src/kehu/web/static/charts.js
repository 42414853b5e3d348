// Draws the page's charts: each <script type="application/json" class="chart-data"> holds a
// Plotly figure for the element named in its data-target.  Plotly's bundle (from the installed
// plotly package, served by kehu) is loaded only on pages that have a chart.
(function () {
  "use strict";
  var blocks = document.querySelectorAll("script.chart-data");
  if (!blocks.length) return;
  function draw() {
    blocks.forEach(function (block) {
      var target = document.getElementById(block.dataset.target);
      if (!target) return;
      var fig = JSON.parse(block.textContent);
      window.Plotly.newPlot(target, fig.data, fig.layout, {
        displayModeBar: false, responsive: true, locale: document.documentElement.lang
      });
    });
  }
  var script = document.createElement("script");
  script.src = document.body.dataset.plotly;
  script.onload = draw;
  document.head.appendChild(script);
})();
