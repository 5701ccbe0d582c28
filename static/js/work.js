// Keyboard shortcuts for the work list. The pages work without this file; it only saves keystrokes.
// Queue: j/k move between cases, Enter or o opens, c claims, x selects, / searches.
// Case: n writes a note, r a reply, u goes back to the list, Escape leaves a text box. ? shows help.
(function () {
  "use strict";

  var dialog = document.getElementById("shortcuts");
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-row]"));

  document.querySelectorAll("[data-shortcuts-open], [data-shortcuts-hint]").forEach(function (element) {
    element.hidden = false;
  });
  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.addEventListener("click", openHelp);
  });

  // A refused change comes back with its message: take keyboard and screen-reader users there.
  var errors = document.querySelector("[data-errors]");
  if (errors) {
    errors.focus();
  } else if (location.hash && rows.length) {
    // Back from claiming a case: the row it was claimed from keeps the focus.
    var row = document.getElementById(location.hash.slice(1));
    if (row && row.hasAttribute("data-row")) row.focus();
  }

  function openHelp() {
    if (dialog && !dialog.open && dialog.showModal) dialog.showModal();
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function currentRow() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("[data-row]") : null;
  }

  function moveBy(step) {
    if (!rows.length) return;
    var index = rows.indexOf(currentRow());
    var next = index === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(index + step, 0), rows.length - 1);
    rows[next].focus();
  }

  function inRow(selector) {
    var row = currentRow();
    return row ? row.querySelector(selector) : null;
  }

  var queueKeys = {
    j: function () { moveBy(1); },
    k: function () { moveBy(-1); },
    o: function () { var link = inRow("[data-open]"); if (link) link.click(); },
    c: function () { var button = inRow("[data-claim]"); if (button) button.click(); },
    x: function () {
      var box = inRow("[data-select]");
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
    },
    "/": function () { var search = document.querySelector("[data-search]"); if (search) { search.focus(); search.select(); } }
  };

  function focusTarget(key) {
    var box = document.querySelector("[data-shortcut-target='" + key + "']");
    if (!box) return;
    box.focus();
    box.scrollIntoView({ block: "center" });
  }

  var caseKeys = {
    n: function () { focusTarget("n"); },
    r: function () { focusTarget("r"); },
    u: function () { var back = document.querySelector("[data-back]"); if (back) back.click(); }
  };

  var keys = rows.length || document.querySelector("[data-search]") ? queueKeys : caseKeys;

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (dialog && dialog.open) return;
    var target = event.target;
    if (typing(target)) {
      // Escape leaves the text box, so the next key is a shortcut again; what was typed stays.
      if (event.key === "Escape" && target.matches("input, textarea, select")) target.blur();
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      openHelp();
      return;
    }
    // Enter on a link or button does its own thing; only a focused row opens here.
    if (event.key === "Enter" && target.hasAttribute && target.hasAttribute("data-row")) {
      event.preventDefault();
      queueKeys.o();
      return;
    }
    var action = keys[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  // A click anywhere on a row (not on its controls) makes it the current row.
  rows.forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (!event.target.closest("a, button, input, label, select")) row.focus();
    });
  });

  var selectAll = document.querySelector("[data-select-all]");
  if (selectAll) {
    var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-select]"));
    selectAll.hidden = boxes.length === 0;
    var sync = function () {
      var checked = boxes.filter(function (box) { return box.checked; }).length;
      selectAll.checked = checked > 0 && checked === boxes.length;
      selectAll.indeterminate = checked > 0 && checked < boxes.length;
    };
    selectAll.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = selectAll.checked; });
    });
    boxes.forEach(function (box) { box.addEventListener("change", sync); });
    sync();
  }
})();
