(function () {
  "use strict";
  function key(cell, type) {
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    if (type === "number") {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw;
  }
  function compare(x, y, type) {
    if (type === "number") { return x - y; }
    return String(x).localeCompare(String(y), undefined, { numeric: true });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var col = th.cellIndex;
        var type = th.getAttribute("data-type") || "text";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[col], type), key(b.cells[col], type), type);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  // The matrix's filters: rows by status, columns by part.
  var matrix = document.getElementById("matrix");
  if (matrix) {
    var chosen = { status: "", part: "" };
    var apply = function () {
      Array.prototype.forEach.call(matrix.tBodies[0].rows, function (row) {
        row.hidden = chosen.status !== "" && row.getAttribute("data-status") !== chosen.status;
      });
      Array.prototype.forEach.call(matrix.querySelectorAll("[data-part]"), function (cell) {
        cell.hidden = chosen.part !== "" && cell.getAttribute("data-part") !== chosen.part;
      });
    };
    Array.prototype.forEach.call(document.querySelectorAll("select[data-filter]"), function (s) {
      s.addEventListener("change", function () {
        chosen[s.getAttribute("data-filter")] = s.value;
        apply();
      });
    });
  }
})();
