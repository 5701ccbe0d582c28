// The answer page works without JavaScript; this only makes it kinder.
(function () {
  "use strict";

  // After a form with mistakes comes back, take keyboard and screen-reader users to the message.
  var errors = document.getElementById("errors");
  if (errors) errors.focus();

  // "Opened" means a person. Mail scanners fetch every link in an email, and some run its
  // scripts, but none taps, clicks or types: the first such act tells the shop, once.
  var seen = document.querySelector("form[data-seen-url]");
  if (seen && window.fetch && window.FormData) {
    var acts = ["pointerdown", "keydown", "touchstart"];
    var tell = function () {
      acts.forEach(function (act) { document.removeEventListener(act, tell, true); });
      var body = new FormData();
      body.append("csrfmiddlewaretoken", seen.elements.csrfmiddlewaretoken.value);
      fetch(seen.dataset.seenUrl, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
        .catch(function () { /* offline: the answer itself counts as opened too */ });
    };
    acts.forEach(function (act) { document.addEventListener(act, tell, true); });
  }

  // Autosave: answers on the second step are saved as the customer goes, so a locked phone
  // or a closed tab loses nothing; reopening the link resumes from what was saved.
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch || !window.FormData) return;
  var status = form.querySelector(".autosave-status");
  var timer = null;
  var lastSaved = new URLSearchParams(new FormData(form)).toString();

  function save() {
    timer = null;
    var body = new FormData(form);
    var snapshot = new URLSearchParams(body).toString();
    if (snapshot === lastSaved) return;
    fetch(window.location.href, {
      method: "POST",
      body: body,
      headers: { "X-Autosave": "1" },
      credentials: "same-origin",
      keepalive: true
    }).then(function (response) {
      if (response.ok) {
        lastSaved = snapshot;
        if (status && status.textContent !== status.dataset.saved) status.textContent = status.dataset.saved;
      }
    }).catch(function () { /* offline: the next change or the send button tries again */ });
  }

  function saveSoon(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, delay);
  }

  form.addEventListener("change", function () { saveSoon(300); });
  form.addEventListener("input", function () { saveSoon(1200); });
  form.addEventListener("submit", function () { window.clearTimeout(timer); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && timer) {
      window.clearTimeout(timer);
      save();
    }
  });
})();
