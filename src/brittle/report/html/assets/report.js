(function () {
  "use strict";
  var PAGE = PAGE_ROWS;
  function page(table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = PAGE;
    var button = document.createElement("button");
    button.className = "more";
    function apply() {
      var visible = 0;
      rows.forEach(function (row) {
        var match = !row.dataset.filtered;
        if (match) { visible += 1; }
        row.classList.toggle("hidden", !match || visible > shown);
      });
      var hidden = rows.filter(function (r) { return r.classList.contains("hidden") &&
        !r.dataset.filtered; }).length;
      button.textContent = "show " + Math.min(hidden, PAGE) + " more (" + hidden + " hidden)";
      button.style.display = hidden ? "" : "none";
    }
    button.addEventListener("click", function () { shown += PAGE; apply(); });
    table.parentNode.insertBefore(button, table.nextSibling);
    table.brittleApply = apply;
    apply();
  }
  document.querySelectorAll("table.paged").forEach(page);
  document.querySelectorAll("input.filter").forEach(function (input) {
    input.addEventListener("input", function () {
      var table = document.getElementById(input.dataset.table);
      if (!table) { return; }
      var needle = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var hit = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
        if (hit) { delete row.dataset.filtered; } else { row.dataset.filtered = "1"; }
      });
      if (table.brittleApply) { table.brittleApply(); }
    });
  });
  document.documentElement.dataset.ready = "1";
})();
