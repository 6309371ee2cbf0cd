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
      var pending = files.length, failed = false;
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
          }
          if (--pending === 0 && !failed) window.location.reload();
        });
        xhr.addEventListener("error", function () { failed = true; label.textContent = file.name + ": network error"; pending--; });
        xhr.send(data);
      });
    }
  });
})();
