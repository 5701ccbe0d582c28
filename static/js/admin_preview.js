// The survey admin's live preview: the unsaved form goes to the preview view, which renders
// the answer page from it; the frame shows the result. Without JavaScript the frame shows
// the saved survey.
(function () {
  "use strict";
  var frame = document.getElementById("survey-preview");
  if (!frame || !window.fetch) return;
  var form = frame.closest("form");
  var language = document.getElementById("preview-lang");
  var step = document.getElementById("preview-step");
  var score = document.getElementById("preview-score");
  var timer = null;

  function refresh() {
    var query = new URLSearchParams({ lang: language.value, step: step.value, score: score.value });
    if (frame.dataset.survey) query.set("survey", frame.dataset.survey);
    fetch(frame.dataset.url + "?" + query.toString(), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html !== null) frame.srcdoc = html;
    }).catch(function () { /* keep the last preview */ });
  }

  function refreshSoon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("input", refreshSoon);
  form.addEventListener("change", refreshSoon);
  document.addEventListener("formset:added", refreshSoon);
  document.addEventListener("formset:removed", refreshSoon);
  refresh();
})();
