// Charts from the figures the server put in data-figure attributes (no inline script: the
// page's Content-Security-Policy forbids it), and a confirmation before destructive actions.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    if (typeof Plotly === "undefined") { el.textContent = "(charts need JavaScript)"; return; }
    var figure = JSON.parse(el.getAttribute("data-figure"));
    var layout = Object.assign({ margin: { t: 30, r: 10, b: 45, l: 55 }, autosize: true }, figure.layout || {});
    // The figure's caption names it; a title would sit under the mode bar. Legends go below,
    // where long names (run ids) do not squeeze the plot.
    delete layout.title;
    layout.legend = Object.assign({ orientation: "h", y: -0.4 }, layout.legend || {});
    if (figure.data.length > 1 && layout.showlegend !== false) { layout.margin = Object.assign({}, layout.margin, { b: 110 }); }
    Plotly.newPlot(el, figure.data, layout, { responsive: true, displaylogo: false });
    el.setAttribute("data-rendered", "true");
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
