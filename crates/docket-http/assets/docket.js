// Progressive enhancement for upload forms (`form[data-upload]`): drag and drop, and one
// request per file with a progress bar. Without JavaScript the form posts as usual.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input || !window.FormData || !window.XMLHttpRequest) return;
    var zone = document.createElement("div");
    zone.className = "dropzone";
    zone.textContent = "Drop files here, or choose them above.";
    var list = document.createElement("ul");
    list.className = "uploads";
    list.setAttribute("aria-live", "polite");
    form.appendChild(zone);
    form.appendChild(list);
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (e) { send(Array.prototype.slice.call(e.dataTransfer.files)); });
    form.addEventListener("submit", function (e) {
      if (!input.files.length) return;
      e.preventDefault();
      send(Array.prototype.slice.call(input.files));
    });
    function send(files) {
      var pending = files.length, failed = false, sent = [];
      files.forEach(function (file) {
        var item = document.createElement("li");
        var label = document.createElement("span");
        label.textContent = file.name;
        var bar = document.createElement("progress");
        bar.max = 100; bar.value = 0;
        bar.setAttribute("aria-label", "Uploading " + file.name);
        item.appendChild(label); item.appendChild(bar);
        list.appendChild(item);
        var data = new FormData();
        form.querySelectorAll("input[type=hidden], input[type=checkbox]:checked").forEach(function (h) { data.append(h.name, h.type === "checkbox" ? "on" : h.value); });
        data.append(input.name, file, file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
        });
        xhr.addEventListener("load", function () {
          var ok = xhr.status >= 200 && xhr.status < 300;
          if (!ok) {
            failed = true;
            var msg = "upload failed";
            try { msg = JSON.parse(xhr.responseText).error.message; } catch (_) {}
            label.textContent = file.name + ": " + msg;
            item.className = "flash error";
          } else {
            bar.value = 100;
            try { sent = sent.concat(JSON.parse(xhr.responseText).files); } catch (_) { sent.push(file.name); }
          }
          if (--pending === 0 && !failed) confirmSent(form.getAttribute("data-done") || "Uploaded", sent);
        });
        xhr.addEventListener("error", function () { failed = true; label.textContent = file.name + ": network error"; pending--; });
        xhr.send(data);
      });
    }
  });
})();

// After an upload the page comes back saying what was received, by name.
function confirmSent(verb, names) {
  "use strict";
  var url = new URL(window.location.href);
  url.searchParams.delete("error");
  url.searchParams.set("notice", verb + ": " + names.join(", ") + ".");
  window.location.href = url.toString();
}

// Answers on the portal (`form[data-autosave]`) are saved as the recipient types (after a
// pause) and when they leave a field; the item's state and "Send for review" follow.
// Without JavaScript each form posts with its button.
(function () {
  "use strict";
  if (!window.fetch || !window.URLSearchParams) return;
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = form.querySelector(".saved");
    var card = form.closest("[id^=item-]");
    var timer = null, last = new URLSearchParams(new FormData(form)).toString();
    function save() {
      clearTimeout(timer);
      var body = new URLSearchParams(new FormData(form)).toString();
      if (body === last) return;
      last = body;
      if (status) status.textContent = "Saving…";
      fetch(form.action, {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body
      }).then(function (res) {
        return res.json().then(function (json) { return { ok: res.ok, json: json }; });
      }).then(function (r) {
        if (!r.ok) {
          last = null;
          if (status) status.textContent = (r.json.error && r.json.error.details && r.json.error.details[0] && r.json.error.details[0].message) || (r.json.error && r.json.error.message) || "Not saved";
          return;
        }
        if (status) status.textContent = "Saved";
        var state = card && card.querySelector(".item-state");
        if (state) { state.setAttribute("data-state", r.json.state_key); state.innerHTML = ""; var b = document.createElement("strong"); b.textContent = r.json.state; state.appendChild(b); }
        var missing = document.getElementById("missing"), ready = document.getElementById("ready"), button = document.getElementById("complete");
        if (missing && ready && button) {
          var none = r.json.missing.length === 0;
          missing.hidden = none; ready.hidden = !none; button.disabled = !none;
          missing.querySelector("span").textContent = r.json.missing.join(", ");
        }
      }).catch(function () { last = null; if (status) status.textContent = "Not saved: no connection"; });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 800); });
    form.addEventListener("change", save);
    form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
  });
})();
